"""End to end over HTTP: signed Slack requests to the real `digestbot serve` app, answers checked at the fake Slack."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import time as clock

import httpx
import pytest

from bot.web import create_app
from digest.models import Digest
from digest.settings import Settings
from tests.fakes.base import ServerThread
from tests.fakes.slack import FakeSlack, block_kit_error, signed_headers
from tests.slack_support import (
    SECRET,
    action_body,
    build_day_sync,
    command_body,
    event_body,
    post_signed,
    slack_settings,
    store_for,
    wait_for,
)


@dataclass
class Served:
    url: str
    fake: FakeSlack
    settings: Settings
    digest: Digest


@pytest.fixture
def served(fake_slack: FakeSlack, make_settings: Callable[..., Settings]) -> Iterator[Served]:
    settings = slack_settings(make_settings, fake_slack, slack_admins=["U0ALLOWED"])
    digest = build_day_sync(settings)
    store = store_for(settings)
    with ServerThread(create_app(settings, store)) as server:
        yield Served(server.url, fake_slack, settings, digest)


def read_subscription(settings: Settings, channel: str):  # type: ignore[no-untyped-def]
    async def read():  # type: ignore[no-untyped-def]
        store = store_for(settings)
        try:
            return await store.get_subscription("slack", channel)
        finally:
            await store.close()

    return asyncio.run(read())


def all_text(message: dict) -> str:
    return json.dumps(message, ensure_ascii=False)


def test_paper_command_acks_then_responds_ephemeral_from_the_store(served: Served) -> None:
    response = post_signed(served.url, command_body("/paper", "3 risks", served.fake))
    assert response.status_code == 200
    assert response.text == ""  # the ack carries nothing; the answer comes through response_url

    answer = wait_for(lambda: served.fake.responses, "the respond() call")[0]
    paper = served.digest.item(3)
    assert paper is not None
    assert answer.payload["response_type"] == "ephemeral"
    assert "⚠️ 리스크/한계" in all_text(answer.payload)
    assert paper.brief.risks[0][:40] in all_text(answer.payload)
    assert block_kit_error(answer.payload) is None
    assert not served.fake.messages  # nothing posted to the channel


def test_public_flag_answers_in_channel_and_a_mistake_gets_an_example(served: Served) -> None:
    post_signed(served.url, command_body("/paper", "1 dev public", served.fake))
    post_signed(served.url, command_body("/paper", "9 risks", served.fake))
    wait_for(lambda: len(served.fake.responses) == 2, "two responses")
    by_type = {r.payload["response_type"]: r.payload for r in served.fake.responses}
    assert "개발자 관점" in all_text(by_type["in_channel"])
    assert "예:" in all_text(by_type["ephemeral"])  # the out-of-range rank comes back with a working example


def test_answers_reuse_one_connection_to_the_response_url(served: Served) -> None:
    """bolt's respond() opened a session and a connection per answer; ours keeps one session per app."""
    for n in (1, 2, 3):
        post_signed(served.url, command_body("/paper", f"{n} risks", served.fake))
        wait_for(lambda n=n: len(served.fake.responses) == n, f"answer {n}")  # type: ignore[misc]
    assert len({r.peer_port for r in served.fake.responses}) == 1
    assert {r.payload["response_type"] for r in served.fake.responses} == {"ephemeral"}
    assert {r.payload["replace_original"] for r in served.fake.responses} == {False}


async def test_close_app_closes_the_response_session(fake_slack: FakeSlack, make_settings) -> None:  # type: ignore[no-untyped-def]
    from bot.slack.app import _SESSIONS, build_app, close_app

    settings = slack_settings(make_settings, fake_slack)
    app = build_app(settings, store_for(settings))
    session = _SESSIONS[app].get()
    await close_app(app)
    assert session.closed
    await close_app(app)  # twice is harmless


@pytest.mark.parametrize(
    ("case", "kwargs"),
    [
        ("wrong secret", {"secret": "not-the-secret-at-all"}),
        ("stale, 6 minutes old", {"skew_s": -360}),
        ("from the future", {"skew_s": 360}),
    ],
)
def test_badly_signed_requests_get_401_and_no_answer(served: Served, case: str, kwargs: dict) -> None:
    # The timestamp is taken now, not at collection: a long run must not bring "the future" into range.
    if "skew_s" in kwargs:
        kwargs = {"timestamp": int(time.time()) + kwargs["skew_s"]}
    response = post_signed(served.url, command_body("/paper", "3 risks", served.fake), **kwargs)
    assert response.status_code == 401, case
    assert not served.fake.responses


def test_unsigned_and_malformed_signature_headers_get_401(served: Served) -> None:
    body = command_body("/paper", "3 risks", served.fake)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    unsigned = httpx.post(f"{served.url}/slack/events", content=body, headers=form)
    not_a_number = httpx.post(
        f"{served.url}/slack/events",
        content=body,
        headers=form | {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"},
    )
    assert (unsigned.status_code, not_a_number.status_code) == (401, 401)
    # A tampered body under the signature of the original one.
    tampered = httpx.post(
        f"{served.url}/slack/events",
        content=body.replace("3+risks", "3+actions"),
        headers=form | signed_headers(SECRET, body),
    )
    assert tampered.status_code == 401
    assert not served.fake.responses


def test_url_verification_challenge(served: Served) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "c-123", "token": "x"})
    response = post_signed(served.url, body, form=False)
    assert response.status_code == 200
    assert "c-123" in response.text


def test_section_button_and_overflow_answer_in_the_thread(served: Served) -> None:
    paper = served.digest.item(3)
    assert paper is not None
    value = f"2026-02-13|ko|{paper.paper.id}|"
    button = {"type": "button", "action_id": "paper_section:3:risks", "value": value + "risks", "block_id": "paper-3"}
    overflow = {
        "type": "overflow",
        "action_id": "paper_section:3:more",
        "block_id": "paper-3",
        "selected_option": {"text": {"type": "plain_text", "text": "x"}, "value": value + "abstract"},
    }
    assert post_signed(served.url, action_body(served.fake, button, message_ts="1770940800.000001")).status_code == 200
    assert (
        post_signed(served.url, action_body(served.fake, overflow, message_ts="1770940800.000001")).status_code == 200
    )
    posts = wait_for(lambda: len(served.fake.messages) == 2 and served.fake.messages, "two thread replies")
    assert {p.thread_ts for p in posts} == {"1770940800.000001"}
    assert {p.channel for p in posts} == {"C0PAPERS"}
    text = all_text([p.blocks for p in posts])
    assert "리스크/한계" in text and "초록 기반 상세 설명" in text
    assert paper.paper.title[:30] in text


def test_a_retried_event_is_answered_once(served: Served) -> None:
    body = event_body("Ev0001", "<@U0BOT> 2 actions")
    first = post_signed(served.url, body, form=False)
    retry = post_signed(
        served.url, body, form=False, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    )
    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.headers.get("x-digestbot-duplicate") == "1"
    other = post_signed(served.url, event_body("Ev0002", "<@U0BOT> 4 risks", ts="1770940000.000002"), form=False)
    assert other.status_code == 200
    posts = wait_for(lambda: len(served.fake.messages) >= 2 and served.fake.messages, "answers to two mentions")
    assert sorted(p.thread_ts or "" for p in posts) == ["1770940000.000001", "1770940000.000002"]
    assert "바로 실험할 액션" in all_text(posts[0].blocks + posts[1].blocks)


def test_subscribe_is_for_admins_and_the_allow_list(served: Served) -> None:
    post_signed(served.url, command_body("/digest-subscribe", "07:30 Asia/Seoul en", served.fake, user="U0MEMBER"))
    refusal = wait_for(lambda: served.fake.responses, "the refusal")[0]
    assert "admins" in all_text(refusal.payload) or "관리자" in all_text(refusal.payload)
    assert read_subscription(served.settings, "C0PAPERS") is None

    post_signed(served.url, command_body("/digest-subscribe", "07:30 Asia/Seoul en", served.fake, user="U0ADMIN"))
    wait_for(lambda: len(served.fake.responses) == 2, "the confirmation")
    sub = read_subscription(served.settings, "C0PAPERS")
    assert sub is not None
    assert (sub.post_time, sub.timezone, sub.lang, sub.created_by, sub.team_id) == (
        clock(7, 30),
        "Asia/Seoul",
        "en",
        "U0ADMIN",
        "T0TEST",
    )

    post_signed(served.url, command_body("/digest-subscribe", "off", served.fake, user="U0ALLOWED"))
    wait_for(lambda: len(served.fake.responses) == 3, "the unsubscribe answer")
    assert read_subscription(served.settings, "C0PAPERS") is None

    post_signed(served.url, command_body("/digest-subscribe", "at dawn", served.fake, user="U0ADMIN"))
    wait_for(lambda: len(served.fake.responses) == 4, "the usage answer")
    assert "08:30" in all_text(served.fake.responses[3].payload)  # a working example


def test_slack_route_without_secrets_says_it_is_not_configured(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    with ServerThread(create_app(settings, store_for(settings))) as server:
        response = httpx.post(f"{server.url}/slack/events", content="x")
    assert response.status_code == 503
    assert "SLACK_SIGNING_SECRET" in response.text


def test_the_manifest_declares_every_command_the_app_listens_to() -> None:
    from bot.slack.listeners.commands import QUERY_COMMANDS, SUBSCRIBE_COMMAND
    from tests.conftest import ROOT

    manifest = (ROOT / "config" / "slack_manifest.yml").read_text(encoding="utf-8")
    for command in (*QUERY_COMMANDS, SUBSCRIBE_COMMAND):
        assert f"- command: {command}\n" in manifest
    assert "socket_mode_enabled: true" in manifest and "interactivity:" in manifest
