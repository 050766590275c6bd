"""The suite itself: the same result in any shell, and a shared test Redis left as it was found.

Each test runs a small test file in a separate pytest process with this suite's conftest, as `./dev test` would.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.redis_server import keys_under

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]

HOSTILE = {
    "REDIS_URL": "redis://127.0.0.1:1/0",
    "DIGEST_LANG": "en",
    "DIGEST_TIMEZONE": "UTC",
    "DIGEST_DATA_DIR": "/nonexistent/var",
    "DIGEST_CONFIG": "/nonexistent/settings.toml",
    "DIGEST_KEY_PREFIX": "hostile",
    "OPENAI_API_KEY": "not-a-key",
    "SLACK_BOT_TOKEN": "not-a-token",
    "TELEGRAM_BOT_TOKEN": "not-a-token",
    "PORT": "1",
    "PROMETHEUS_MULTIPROC_DIR": "/nonexistent/metrics",
    "XDG_DATA_HOME": "/nonexistent/data",
    "XDG_CONFIG_HOME": "/nonexistent/config",
}


def run_inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, source: str) -> pytest.RunResult:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makepyfile(test_inner=source)
    return pytester.runpytest_subprocess(
        "-p",
        "tests.conftest",
        "-s",
        "-q",
        "-p",
        "no:cacheprovider",
        "-o",
        "asyncio_mode=auto",
        "-o",
        "asyncio_default_fixture_loop_scope=function",
    )


def test_the_callers_environment_never_reaches_a_test(pytester, monkeypatch):
    real_home = os.environ["HOME"]
    for name, value in HOSTILE.items():
        monkeypatch.setenv(name, value)
    result = run_inner(
        pytester,
        monkeypatch,
        f"""
import os
from pathlib import Path

from bot.platform import registry
from digest.settings import load_settings

def test_defaults(tmp_path):
    for name, value in {HOSTILE!r}.items():
        assert os.environ.get(name) != value, name
    settings = load_settings()
    assert (settings.lang, settings.timezone, settings.key_prefix) == ("ko", "Asia/Seoul", "digestbot")
    assert settings.redis_url is None and settings.openai_api_key is None
    assert registry.configured(settings) == {{}}  # no chat platform: their tokens were cleared
    assert Path.home() == tmp_path / "home" != Path({real_home!r})
    assert settings.data_dir == tmp_path / "var"
""",
    )
    assert result.ret == 0, result.stdout.str()


def test_every_redis_key_a_test_writes_is_removed_when_it_ends(pytester, monkeypatch, redis_url):
    monkeypatch.setenv("DIGEST_TEST_REDIS_URL", redis_url)
    result = run_inner(
        pytester,
        monkeypatch,
        """
from datetime import date

from digest.store.base import Subscription
from digest.store.redis import RedisStore
from tests.redis_server import keys_under

async def test_writes(redis_url, redis_prefix):
    print(f"PREFIX={redis_prefix}")
    store = RedisStore(redis_url, prefix=redis_prefix)
    try:
        await store.put_subscription(Subscription(platform="slack", chat_id="C1"))
        assert await store.claim_delivery("slack", "C1", date(2026, 2, 13), "me", 60)
        assert await store.first_time("evt", 60)
    finally:
        await store.close()
    assert len(keys_under(redis_url, redis_prefix)) >= 3
""",
    )
    assert result.ret == 0, result.stdout.str()
    prefix = re.search(r"PREFIX=(\S+)", result.stdout.str())
    assert prefix is not None
    assert keys_under(redis_url, prefix[1]) == []
