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

ROOT = Path(__file__).resolve().parents[1]


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
    assert 'digestbot ask "/paper 3 risks"' in result.stderr
    assert "sample: 8 papers" in result.stderr
    # The golden briefs are pre-filled cache entries: real Korean briefs, no key, no call.
    assert "LLM: 0 calls answered, 0 in / 0 out tokens, $0.0000 (5 briefs from cache)" in result.stderr
    assert "5B 파라미터의 경량 multimodal 모델 DeepGen 1.0" in result.stdout
    assert "LLM이 쓴 요약이 아닙니다" not in result.stdout
    assert (tmp_path / "archive" / "2026-02-13.ko.md").read_text(encoding="utf-8") == result.stdout
    assert (tmp_path / "store.sqlite3").is_file()


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
