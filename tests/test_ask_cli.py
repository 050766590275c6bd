"""`digestbot ask`, `store migrate` and a build during an outage, run as a user runs them (subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.redis_server import free_port
from tests.test_cli import ROOT, digestbot


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    data = tmp_path_factory.mktemp("demo")
    result = digestbot("demo", env={"DIGEST_DATA_DIR": str(data)})
    assert result.returncode == 0, result.stderr
    return data


def test_ask_prints_each_platforms_form(demo_dir):
    env = {"DIGEST_DATA_DIR": str(demo_dir)}
    plain = digestbot("ask", "/paper 3 risks", env=env)
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.startswith("3. DeepGen 1.0") and "⚠️ 리스크/한계" in plain.stdout
    slack = digestbot("ask", "/paper 3 risks", "--platform", "slack", env=env)
    message = json.loads(slack.stdout)
    assert message["text"] and 0 < len(message["blocks"]) <= 50
    assert any("리스크/한계" in b.get("text", {}).get("text", "") for b in message["blocks"])
    telegram = digestbot("ask", "/paper 3 risks", "--platform", "telegram", env=env)
    messages = json.loads(telegram.stdout)
    assert len(messages) == 1 and "<b>⚠️ 리스크/한계</b>" in messages[0]


def test_ask_answers_a_mistake_with_exit_0_and_an_example(demo_dir):
    result = digestbot("ask", "/paper 9 risks", "--date", "2026-02-13", env={"DIGEST_DATA_DIR": str(demo_dir)})
    assert result.returncode == 0
    assert "1-5번이 있습니다" in result.stdout and "예: /paper 5 risks" in result.stdout


def test_ask_with_redis_down_says_unavailable_exits_1_and_hides_the_password(tmp_path):
    url = f"redis://user:hunter2-secret@127.0.0.1:{free_port()}/0"
    result = digestbot("ask", "/paper 3 risks", env={"DIGEST_DATA_DIR": str(tmp_path), "REDIS_URL": url})
    assert result.returncode == 1
    assert "아카이브를 잠시 사용할 수 없습니다" in result.stdout
    assert "hunter2" not in result.stdout + result.stderr


def test_store_migrate_copies_the_embedded_store_into_redis(demo_dir, redis_url, redis_prefix):
    env = {"DIGEST_DATA_DIR": str(demo_dir), "REDIS_URL": redis_url, "DIGEST_KEY_PREFIX": redis_prefix}
    first = digestbot("store", "migrate", "--from", "sqlite", "--to", "redis", env=env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["digests"] == 1
    again = digestbot("store", "migrate", "--from", "sqlite", "--to", "redis", env=env)
    assert json.loads(again.stdout) == json.loads(first.stdout)  # idempotent
    answered = digestbot("ask", "/paper 3 risks", env=env)
    assert answered.returncode == 0 and answered.stdout.startswith("3. DeepGen 1.0")


def test_shell_answers_each_line_until_end_of_input(demo_dir):
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "shell"],
        input="/paper 3 risks\n\n/paper 3 bananas\n",
        capture_output=True,
        text=True,
        env={**os.environ, "DIGEST_DATA_DIR": str(demo_dir)},
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "⚠️ 리스크/한계" in result.stdout and "'bananas'" in result.stdout
