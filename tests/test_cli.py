"""The console script as a user runs it: a real subprocess, stdout is the product, stderr the progress."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.base import Fault
from tests.redis_server import keys_under

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent  # ./dev test runs .venv/bin/python, next to the digestbot script


def digestbot(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd or ROOT,
        timeout=120,
    )


def test_demo_prints_the_sample_day_in_reference_order(tmp_path):
    result = digestbot("demo", env={"DIGEST_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    upvotes = [int(n) for n in re.findall(r"^\*\*Upvotes\*\*: (\d+)", result.stdout, re.M)]
    assert upvotes == [181, 86, 69, 55, 45]
    assert result.stdout.startswith("# 2026-02-13 Daily Papers (Top 5)")
    assert f'{VENV_BIN / "digestbot"} ask "/paper 3 risks" --date 2026-02-13' in result.stderr
    assert "sample: 8 papers" in result.stderr
    # The golden briefs are pre-filled cache entries: real Korean briefs, no key, no call.
    assert "LLM: 0 calls answered, 0 in / 0 out tokens, $0.0000 (5 briefs from cache)" in result.stderr
    assert "5B 파라미터의 경량 multimodal 모델 DeepGen 1.0" in result.stdout
    assert "LLM이 쓴 요약이 아닙니다" not in result.stdout
    assert (tmp_path / "archive" / "2026-02-13.ko.md").read_text(encoding="utf-8") == result.stdout
    assert (tmp_path / "store.sqlite3").is_file()


def follow_up_hint(stderr: str) -> str:
    """The `ask` line the demo prints, to be pasted into a shell."""
    lines = stderr.splitlines()
    return lines[lines.index("Ask a follow-up, answered from the store with no LLM call:") + 1].strip()


def in_a_shell(line: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", line], capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def test_the_demo_hint_names_the_full_path_unless_digestbot_is_on_path(tmp_path, monkeypatch):
    for name in ("DIGEST_CONFIG", "DIGEST_DATA_DIR"):  # as a user's shell has it: the hint needs neither
        monkeypatch.delenv(name)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    path_without_venv = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if Path(p) != VENV_BIN)
    # Started by a relative path with "..", from another folder: the hint still names the plain full path.
    started_as = os.path.relpath(VENV_BIN / "digestbot", tmp_path)
    result = in_a_shell(f"{started_as} demo", tmp_path, {**os.environ, "PATH": path_without_venv})
    assert result.returncode == 0, result.stderr
    hint = follow_up_hint(result.stderr)
    assert hint == f'{VENV_BIN / "digestbot"} ask "/paper 3 risks" --date 2026-02-13'
    asked = in_a_shell(hint, elsewhere, {**os.environ, "PATH": path_without_venv})
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout.startswith("3. DeepGen 1.0")

    with_venv = os.pathsep.join([str(VENV_BIN), path_without_venv])
    result = digestbot("demo", env={"PATH": with_venv, "DIGEST_LANG": "en"})
    hint = follow_up_hint(result.stderr)
    assert hint == 'digestbot ask "/paper 3 risks" --date 2026-02-13 --lang en'
    asked = in_a_shell(hint, elsewhere, {**os.environ, "PATH": with_venv})
    assert asked.returncode == 0 and asked.stdout.startswith("3. DeepGen 1.0"), asked.stderr


def test_the_demo_writes_to_redis_when_redis_url_is_set_and_its_hint_works_as_printed(
    tmp_path, redis_url, redis_prefix
):
    """The demo and its hint use one store: with REDIS_URL, Redis (never an embedded store the hint cannot reach)."""
    env = {"REDIS_URL": redis_url, "DIGEST_KEY_PREFIX": redis_prefix}
    result = digestbot("demo", env=env)
    assert result.returncode == 0, result.stderr
    assert f"demo: the 2026-02-13 sample day, into Redis at {redis_url} (key prefix '{redis_prefix}')" in result.stderr
    assert keys_under(redis_url, f"{redis_prefix}:{{digest:")
    assert not (Path(os.environ["DIGEST_DATA_DIR"]) / "store.sqlite3").exists()
    hint = follow_up_hint(result.stderr)
    assert f" REDIS_URL={redis_url} DIGEST_KEY_PREFIX={redis_prefix} {VENV_BIN / 'digestbot'} ask " in hint
    # As printed: from another folder, in a shell that has neither variable set.
    (tmp_path / "elsewhere").mkdir()
    asked = in_a_shell(hint, tmp_path / "elsewhere", dict(os.environ))
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout.startswith("3. DeepGen 1.0")


def test_the_demo_hint_never_prints_a_redis_password(monkeypatch, make_settings):
    from datetime import date

    from bot.cli.build import follow_up_hint

    monkeypatch.setenv("REDIS_URL", "redis://default:hunter2-secret@127.0.0.1:6379/0")
    hint, hidden = follow_up_hint(make_settings(), date(2026, 2, 13))
    assert "REDIS_URL='redis://default:***@127.0.0.1:6379/0' " in hint and hidden
    assert "hunter2" not in hint


def test_build_json_has_the_contract_fields(tmp_path):
    result = digestbot(
        "build",
        "--date",
        "2026-02-10",
        "--source",
        "sample",
        "--json",
        "--no-llm",
        env={"DIGEST_DATA_DIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    digest = json.loads(result.stdout)
    assert {"date", "lang", "generated_at", "sources", "items", "highlights", "daily_actions", "usage"} <= set(digest)
    assert re.search(r"[+-]\d\d:\d\d$", digest["generated_at"])
    item = digest["items"][0]
    assert {
        "id",
        "title",
        "url",
        "pdf_url",
        "abstract",
        "authors",
        "upvotes",
        "thumbnail",
        "github",
        "project_page",
    } <= set(item["paper"])
    assert {
        "one_liner",
        "key_points",
        "developer_view",
        "actions",
        "risks",
        "uncertainty",
        "abstract_ko",
        "tags",
        "difficulty",
        "confidence",
        "origin",
    } <= set(item["brief"])
    assert item["checks"] == {"unsupported_numbers": []}
    assert set(digest["usage"]) >= {"llm_calls", "input_tokens", "output_tokens", "cost_usd"}
    assert [i["paper"]["upvotes"] for i in digest["items"]] == [140, 130, 120, 114, 51]


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["build", "--date", "13/02/2026"], {}, "--date '13/02/2026' is not a date"),
        (["build", "--source", "rss"], {}, "--source 'rss' is not a source; use one of auto, huggingface, arxiv"),
        (
            ["build"],
            {"DIGEST_SOURCE": "rss"},
            "DIGEST_SOURCE (settings file key 'build_source'): 'rss' is not a source",
        ),
        (["build", "--date", "2999-01-01"], {}, "--date 2999-01-01 is in the future"),
        (["build"], {"DIGEST_TIMEZONE": "Mars/Base"}, "DIGEST_TIMEZONE"),
        (["build"], {"DIGEST_POST_TIME": "8am"}, "DIGEST_POST_TIME"),
        (["build"], {"DIGEST_TOP_K": "many"}, "DIGEST_TOP_K"),
        (["build"], {"DIGEST_CONFIG": "/nonexistent/settings.toml"}, "DIGEST_CONFIG"),
    ],
)
def test_bad_usage_and_config_exit_2_with_one_clear_line(args, env, message, tmp_path):
    result = digestbot(*args, env={"DIGEST_DATA_DIR": str(tmp_path), **env})
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_malformed_settings_file_names_the_key(tmp_path):
    config = tmp_path / "settings.toml"
    config.write_text('top_k = "five"\ntimezone = "Asia/Seoul"\n', encoding="utf-8")
    result = digestbot("build", env={"DIGEST_CONFIG": str(config), "DIGEST_DATA_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert "DIGEST_TOP_K (settings file key 'top_k')" in result.stderr
    config.write_text("top_k = [", encoding="utf-8")
    result = digestbot("build", env={"DIGEST_CONFIG": str(config), "DIGEST_DATA_DIR": str(tmp_path)})
    assert result.returncode == 2 and "cannot read the settings file" in result.stderr
    config.write_text("topk = 5", encoding="utf-8")
    result = digestbot("build", env={"DIGEST_CONFIG": str(config), "DIGEST_DATA_DIR": str(tmp_path)})
    assert result.returncode == 2 and "'topk'" in result.stderr and "unknown setting" in result.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('timzone = "UTC"\n', "unknown setting 'timzone' in {file}; did you mean 'timezone'?"),
        ('DIGEST_LANG = "en"\n', "unknown setting 'DIGEST_LANG' in {file}; did you mean 'lang'?"),
        (
            '[prices."gpt-4o-mini"]\ninput = 0.15\noutput = 0.60\ntimezone = "UTC"\n',
            "unknown setting 'timezone' in the table [prices.gpt-4o-mini] of {file}; it is a top-level setting: "
            "move it above the first [table] line",
        ),
        (
            '[prices."m"]\ninput = 1\noutptu = 2\n',
            "unknown setting 'outptu' in the table [prices.m] of {file}; did you mean 'output'?",
        ),
        ("colour = 'blue'\n", "unknown setting 'colour' in {file}; config/settings.example.toml lists every key"),
    ],
)
def test_an_unknown_key_in_the_settings_file_exits_2_naming_the_nearest_valid_one(text, message, tmp_path):
    config = tmp_path / "settings.toml"
    config.write_text(text, encoding="utf-8")
    result = digestbot("build", "--source", "sample", "--no-llm", env={"DIGEST_CONFIG": str(config)})
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"digestbot: {message.format(file=config)}\n"


def test_the_example_settings_file_is_valid(tmp_path):
    result = digestbot(
        "build",
        "--source",
        "sample",
        "--date",
        "2026-02-13",
        "--no-llm",
        env={"DIGEST_CONFIG": str(ROOT / "config" / "settings.example.toml"), "DIGEST_DATA_DIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr


def test_every_source_down_exits_1_and_says_what_to_do(tmp_path):
    result = digestbot(
        "build",
        "--date",
        "2026-02-13",
        env={
            "DIGEST_DATA_DIR": str(tmp_path),
            "DIGEST_HF_BASE_URL": "http://127.0.0.1:9",
            "DIGEST_ARXIV_BASE_URL": "http://127.0.0.1:9",
            "DIGEST_HTTP_RETRIES": "0",
            "DIGEST_ARXIV_MIN_INTERVAL": "0",
        },
    )
    assert result.returncode == 1
    assert "every source failed" in result.stderr and "DIGEST_HF_BASE_URL" in result.stderr


def test_build_through_an_openai_compatible_server_with_one_paper_failing(tmp_path, fake_openai):
    fake_openai.paper_modes["2602.12205"] = "500"
    key = "sk-test-cli-0123456789abcdefghij"
    env = {
        "DIGEST_DATA_DIR": str(tmp_path),
        "OPENAI_API_KEY": key,
        "OPENAI_BASE_URL": fake_openai.base_url,
        "DIGEST_MODEL": "fake-model",
        "DIGEST_LLM_RETRIES": "1",
    }
    result = digestbot("build", "--date", "2026-02-13", "--source", "sample", "--json", env=env)
    assert result.returncode == 0, result.stderr
    digest = json.loads(result.stdout)
    origins = {i["paper"]["id"]: i["brief"]["origin"] for i in digest["items"]}
    assert origins.pop("2602.12205") == "fallback" and set(origins.values()) == {"llm"}
    assert digest["usage"]["llm_calls"] == 5  # four briefs and the digest parts; the failing one never answered
    assert "LLM: 5 calls answered, 1 failed" in result.stderr and "2602.12205" in result.stderr
    assert key not in result.stderr
    # --no-llm still serves what is cached and calls nothing.
    calls = len(fake_openai.calls)
    again = digestbot("build", "--date", "2026-02-13", "--source", "sample", "--no-llm", env=env)
    assert again.returncode == 0 and len(fake_openai.calls) == calls
    assert "(4 briefs from cache)" in again.stderr


def test_build_with_a_key_after_demo_has_the_llm_write_the_top_issues(tmp_path, fake_openai):
    demo = digestbot("demo", env={"DIGEST_DATA_DIR": str(tmp_path)})
    assert demo.returncode == 0, demo.stderr
    env = {
        "DIGEST_DATA_DIR": str(tmp_path),
        "OPENAI_API_KEY": "sk-test-cli-0123456789abcdefghij",
        "OPENAI_BASE_URL": fake_openai.base_url,
    }
    result = digestbot("build", "--date", "2026-02-13", "--source", "sample", "--json", env=env)
    assert result.returncode == 0, result.stderr
    digest = json.loads(result.stdout)
    # The golden briefs are cache hits; the demo's automatic top issues and actions are not reused.
    assert [r["response_format"]["json_schema"]["name"] for r in fake_openai.completions()] == ["digest_parts"]
    assert digest["usage"]["llm_calls"] == 1 and digest["usage"]["cached_briefs"] == 5
    assert digest["parts_source"]["origin"] == "llm"
    assert all("fake-keyword" in h["keywords"] for h in digest["highlights"])


def test_a_refused_llm_key_stores_the_digest_and_exits_1_with_one_line(tmp_path, fake_openai):
    fake_openai.fail_next(*[Fault(status=401, body={"error": {"message": "Incorrect API key provided"}})] * 6)
    env = {
        "DIGEST_DATA_DIR": str(tmp_path),
        "OPENAI_API_KEY": "sk-test-cli-refused-0123456789",
        "OPENAI_BASE_URL": fake_openai.base_url,
        "DIGEST_MODEL": "fake-model",
    }
    result = digestbot("build", "--date", "2026-02-13", "--source", "sample", "--lang", "en", env=env)
    assert result.returncode == 1, result.stderr
    assert result.stderr.count("refused the key") == 2  # the log line, and the exit message that says what to do
    assert "stored with each paper's abstract" in result.stderr and "OPENAI_API_KEY" in result.stderr
    assert result.stdout.startswith("# 2026-02-13 Daily Papers (Top 5)")  # the report is printed all the same
    stored = json.loads((tmp_path / "archive" / "2026-02-13.en.json").read_text(encoding="utf-8"))
    assert stored["llm_error"] == "the LLM refused the key (HTTP 401)"
    asked = digestbot("ask", "/digest", "--lang", "en", env=env)
    assert asked.returncode == 0 and "1. The Devil Behind Moltbook" in asked.stdout


def test_a_refused_telegram_token_is_never_printed(fake_telegram, tmp_path):  # type: ignore[no-untyped-def]
    refused = "123456789:TEST-refused-token-for-tests-only-000000"
    result = digestbot(
        "telegram-webhook",
        "https://bot.example.org/telegram/webhook",
        env={
            "DIGEST_DATA_DIR": str(tmp_path),
            "TELEGRAM_BOT_TOKEN": refused,
            "TELEGRAM_API_BASE_URL": fake_telegram.url + "/bot",
            "TELEGRAM_WEBHOOK_SECRET": "webhook-secret-for-tests",
        },
    )
    assert result.returncode == 1
    assert "Telegram refused the webhook" in result.stderr
    assert refused not in result.stdout + result.stderr
    assert refused.split(":")[1] not in result.stdout + result.stderr
