"""Where the settings file and the data are, wherever `digestbot` is run from: one rule, no surprise store."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.commands.engine import answer
from bot.commands.plain import reply_to_text
from digest.settings import load_settings, settings_file
from digest.store.sqlite import SqliteStore
from tests.test_cli import digestbot

USER_DATA = Path(".local/share/paper-digest-bot")
USER_CONFIG = Path(".config/paper-digest-bot/settings.toml")


@pytest.fixture
def no_location_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """As a user's shell has it: neither DIGEST_DATA_DIR nor DIGEST_CONFIG."""
    monkeypatch.delenv("DIGEST_DATA_DIR")
    monkeypatch.delenv("DIGEST_CONFIG")


def folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_without_a_local_var_the_data_dir_is_the_per_user_one(no_location_env, tmp_path, monkeypatch):
    monkeypatch.chdir(folder(tmp_path / "anywhere"))
    assert load_settings().data_dir == Path.home() / USER_DATA
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    assert load_settings().data_dir == tmp_path / "xdg-data" / "paper-digest-bot"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/data")  # the XDG spec: a relative path is ignored
    assert load_settings().data_dir == Path.home() / USER_DATA


def test_a_local_var_that_exists_is_kept_and_digest_data_dir_wins(no_location_env, tmp_path, monkeypatch):
    checkout = folder(tmp_path / "checkout")
    folder(checkout / "var")
    monkeypatch.chdir(checkout)
    assert load_settings().data_dir == checkout / "var"
    monkeypatch.setenv("DIGEST_DATA_DIR", "elsewhere")  # relative: fixed to a full path at start-up
    assert load_settings().data_dir == checkout / "elsewhere"


def test_the_settings_file_is_named_local_or_per_user(no_location_env, tmp_path, monkeypatch):
    monkeypatch.chdir(folder(tmp_path / "anywhere"))
    assert settings_file() == Path.home() / USER_CONFIG
    user_file = Path.home() / USER_CONFIG
    folder(user_file.parent)
    user_file.write_text('lang = "en"\n', encoding="utf-8")
    assert load_settings().lang == "en"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder(tmp_path / "xdg-config")))
    assert settings_file() == tmp_path / "xdg-config" / "paper-digest-bot" / "settings.toml"
    assert load_settings().lang == "ko"  # that file does not exist: the defaults
    checkout = folder(tmp_path / "checkout")
    (folder(checkout / "config") / "settings.toml").write_text('timezone = "UTC"\n', encoding="utf-8")
    monkeypatch.chdir(checkout)
    assert settings_file() == checkout / "config" / "settings.toml"
    assert load_settings().timezone == "UTC"
    named = tmp_path / "named.toml"
    named.write_text('timezone = "Europe/Paris"\n', encoding="utf-8")
    monkeypatch.setenv("DIGEST_CONFIG", str(named))
    assert load_settings().timezone == "Europe/Paris"


def test_ask_from_another_folder_reads_the_store_the_demo_wrote(no_location_env, tmp_path):
    """No folder gets a store of its own: the per-user data dir is the same from everywhere."""
    demo = digestbot("demo", cwd=folder(tmp_path / "a"))
    assert demo.returncode == 0, demo.stderr
    asked = digestbot("ask", "/paper 3 risks", "--date", "2026-02-13", cwd=folder(tmp_path / "b"))
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout.startswith("3. DeepGen 1.0")
    assert (Path.home() / USER_DATA / "store.sqlite3").is_file()
    assert not (tmp_path / "a" / "var").exists() and not (tmp_path / "b" / "var").exists()


def test_no_digest_yet_at_a_terminal_names_the_store_it_looked_in(no_location_env, tmp_path):
    result = digestbot("ask", "/paper 3", cwd=folder(tmp_path / "empty"))
    assert result.returncode == 0, result.stderr
    store = Path.home() / USER_DATA / "store.sqlite3"
    assert f"{store}에 저장된 다이제스트가 아직 없습니다" in result.stdout
    english = digestbot("ask", "/digest", "--lang", "en", cwd=tmp_path / "empty")
    assert f"No digest is stored yet in the embedded store at {store}." in english.stdout


def test_no_digest_yet_names_redis_without_its_password(redis_url, redis_prefix):
    with_password = redis_url.replace("redis://", "redis://default:hunter2-secret@")
    result = digestbot(
        "ask", "/digest", "--lang", "en", env={"REDIS_URL": with_password, "DIGEST_KEY_PREFIX": redis_prefix}
    )
    assert result.returncode == 0, result.stderr
    shown = redis_url.replace("redis://", "redis://default:***@")
    assert f"No digest is stored yet in Redis at {shown} (key prefix '{redis_prefix}')." in result.stdout
    assert "hunter2" not in result.stdout + result.stderr


async def test_in_a_chat_no_digest_yet_never_shows_where_the_store_is(tmp_path):
    store = SqliteStore(tmp_path / "store.sqlite3")
    try:
        reply = await answer("/paper 3", store, lang="en", today=date(2026, 2, 14))
    finally:
        await store.close()
    text = reply_to_text(reply)
    assert "No digest is stored yet." in text and str(tmp_path) not in text
