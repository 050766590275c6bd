from __future__ import annotations

# First: the caller's environment is cleared before anything reads a setting (see tests/hermetic.py).
import tests.hermetic  # noqa: F401  # isort: skip

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bot.platform import registry
from digest.settings import Settings
from digest.store.sqlite import SqliteStore
from tests.fakes.arxiv_web import FakeArxivWeb
from tests.fakes.base import FakeService, ServerThread
from tests.fakes.openai import FakeOpenAI
from tests.fakes.papers import FakeArxiv, FakeHuggingFace
from tests.fakes.slack import FakeSlack
from tests.redis_server import PrivateRedis, PrivateRedisCluster, delete_keys, shared_redis_url

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"

# Never a developer's config/settings.toml, per-user settings file or ./var: every test starts from the defaults.
os.environ["DIGEST_CONFIG"] = str(DATA / "empty-settings.toml")
os.environ["DIGEST_DATA_DIR"] = os.path.join(os.environ["HOME"], "var")


@pytest.fixture(autouse=True)
def own_home_and_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Per-user defaults and the data dir land in the test's own folder (never the real home, never ./var)."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DIGEST_DATA_DIR", str(tmp_path / "var"))


F = TypeVar("F", bound=FakeService)


def _served(fake: F) -> Iterator[F]:
    """Run a fake on 127.0.0.1 for one test; its base URL is `fake.url`."""
    with ServerThread(fake.app) as server:  # type: ignore[attr-defined]
        fake.url = server.url  # type: ignore[attr-defined]
        yield fake


@pytest.fixture
def fake_hf() -> Iterator[FakeHuggingFace]:
    yield from _served(FakeHuggingFace())


@pytest.fixture
def fake_arxiv() -> Iterator[FakeArxiv]:
    yield from _served(FakeArxiv())


@pytest.fixture
def fake_arxiv_web() -> Iterator[FakeArxivWeb]:
    yield from _served(FakeArxivWeb())


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    yield from _served(FakeSlack())


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    yield from _served(FakeOpenAI())


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings for a test: its own data dir, fast retries, no arXiv pacing unless asked, every outside service at
    a closed local port unless a fake's URL is given; overrides by field name.

    A chat platform's setting is named `<platform>_<field>` (slack_bot_token, telegram_posts_per_s) and goes into
    that platform's settings-file table, as an operator's `[slack]` bot_token = … would."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "DIGEST_DATA_DIR": tmp_path / "var",
            "DIGEST_HTTP_BACKOFF": 0.01,
            "DIGEST_HTTP_RETRIES": 2,
            "DIGEST_HTTP_TIMEOUT": 2.0,
            "DIGEST_ARXIV_MIN_INTERVAL": 0.0,
            "DIGEST_HF_BASE_URL": "http://127.0.0.1:9",
            "DIGEST_ARXIV_BASE_URL": "http://127.0.0.1:9",
            "DIGEST_ARXIV_WEB_BASE_URL": "http://127.0.0.1:9",
            "DIGEST_ARXIV_WEB_MIN_INTERVAL": 0.0,
        }
        sections: dict[str, dict[str, Any]] = {}
        for key, value in overrides.items():
            platform, _, field = key.partition("_")
            if key not in Settings.model_fields and platform in registry.names():
                sections.setdefault(platform, {})[field] = value
                continue
            alias = Settings.model_fields[key].validation_alias
            values[alias.choices[0] if alias is not None else key] = value  # type: ignore[union-attr]
        return Settings(**values, sections=sections)

    return make


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    """The embedded store in the test's own folder (the store contract tests parametrise their own)."""
    s = SqliteStore(tmp_path / "store.sqlite3")
    yield s
    await s.close()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real Redis: DIGEST_TEST_REDIS_URL when set (never the bot's REDIS_URL), else a private redis-server."""
    url = shared_redis_url()
    if url:
        yield url
        return
    server = PrivateRedis()
    server.start()
    try:
        yield server.url
    finally:
        server.close()


@pytest.fixture(scope="session")
def redis_cluster_url() -> Iterator[str]:
    """A real Redis Cluster of three masters, private to the session (any node's URL reaches all of it)."""
    cluster = PrivateRedisCluster()
    try:
        cluster.start()
        yield cluster.url
    finally:
        cluster.close()


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of its own per test, so tests sharing one Redis never see each other's keys; every key under
    it (the test's and its subprocesses') is deleted when the test ends, so a shared Redis is left as it was."""
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    yield prefix
    delete_keys(redis_url, prefix)


@pytest.fixture
def fake_telegram() -> Iterator[Any]:
    from tests.fakes.telegram import FakeTelegram

    fake = FakeTelegram()
    with ServerThread(fake.app) as server:
        fake.url = server.url  # type: ignore[attr-defined]
        yield fake
