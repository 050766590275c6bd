"""SlackPoster against the strict fake: the morning post's shape, and every Slack error mapped, never crashed on."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.platform import ChatUnreachable, PostProgress, RetryLater, Superseded
from bot.slack.poster import SlackPoster
from digest.models import Digest
from digest.settings import Settings
from tests.fakes.base import Fault
from tests.fakes.slack import BOT_TOKEN, Channel, FakeSlack, block_kit_error
from tests.slack_support import build_day, slack_settings


class Waits:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def poster(fake: FakeSlack, *, token: str = BOT_TOKEN, **kwargs: object) -> tuple[SlackPoster, Waits]:
    waits = Waits()
    client = AsyncWebClient(token=token, base_url=fake.api_url, retry_handlers=[])
    return SlackPoster(client, sleep=waits, **kwargs), waits  # type: ignore[arg-type]


@pytest.fixture
async def digest(fake_slack: FakeSlack, make_settings: Callable[..., Settings]) -> Digest:
    return await build_day(slack_settings(make_settings, fake_slack))


async def test_morning_post_is_a_parent_and_one_brief_per_paper_in_its_thread(
    fake_slack: FakeSlack, digest: Digest
) -> None:
    slack, _ = poster(fake_slack, public_url="https://digest.example")
    ts = await slack.post_digest("C0PAPERS", digest)
    parent, *replies = fake_slack.posts_to("C0PAPERS")
    assert parent.ts == ts and parent.thread_ts is None
    assert [r.thread_ts for r in replies] == [ts] * len(digest.items) == [ts] * 5
    assert parent.blocks[0]["type"] == "header"
    actions = [b for b in parent.blocks if b["type"] == "actions"]
    assert len(actions) == 5
    assert "https://digest.example/d/2026-02-13#3" in str(parent.blocks)
    assert parent.text.startswith("📚 2026-02-13")  # the notification fallback
    for message in [parent, *replies]:
        assert block_kit_error(message.payload) is None
    for item, reply in zip(digest.items, replies, strict=True):
        assert item.paper.title[:30] in reply.blocks[0]["text"]["text"]


async def test_429_waits_retry_after_then_posts(fake_slack: FakeSlack, digest: Digest) -> None:
    fake_slack.fail_next(
        Fault(
            status=429,
            headers={"Retry-After": "2"},
            body={"ok": False, "error": "ratelimited"},
            path="/api/chat.postMessage",
        )
    )
    slack, waits = poster(fake_slack)
    await slack.post_digest("C0PAPERS", digest)
    assert waits.waits == [2.0]
    assert len(fake_slack.posts_to("C0PAPERS")) == 6


async def test_a_long_or_endless_429_is_handed_back_as_retry_later(fake_slack: FakeSlack, digest: Digest) -> None:
    limited = Fault(status=429, headers={"Retry-After": "3"}, body={"ok": False, "error": "ratelimited"})
    fake_slack.fail_next(*[limited] * 4)
    slack, waits = poster(fake_slack, max_attempts=4)
    with pytest.raises(RetryLater) as raised:
        await slack.post_digest("C0PAPERS", digest)
    assert raised.value.retry_after_s == 3.0 and waits.waits == [3.0, 3.0, 3.0]
    fake_slack.fail_next(Fault(status=429, headers={"Retry-After": "600"}, body={"ok": False, "error": "ratelimited"}))
    with pytest.raises(RetryLater):
        await slack.post_digest("C0PAPERS", digest)
    assert not fake_slack.messages


async def test_not_in_channel_joins_a_public_channel_and_posts(fake_slack: FakeSlack, digest: Digest) -> None:
    fake_slack.channels["C0NEW"] = Channel("C0NEW", "new", bot_member=False)
    slack, _ = poster(fake_slack)
    await slack.post_digest("C0NEW", digest)
    assert len(fake_slack.calls_to("/conversations.join")) == 1
    assert len(fake_slack.posts_to("C0NEW")) == 6


@pytest.mark.parametrize("private", [True, False])
async def test_a_channel_the_bot_cannot_join_tells_the_operator_to_invite_it(
    fake_slack: FakeSlack, digest: Digest, private: bool
) -> None:
    fake_slack.channels["C0SECRET"] = Channel("C0SECRET", "secret", is_private=private, bot_member=False)
    fake_slack.scopes.discard("channels:join")
    slack, _ = poster(fake_slack)
    with pytest.raises(ChatUnreachable, match="/invite"):
        await slack.post_digest("C0SECRET", digest)


@pytest.mark.parametrize(("channel", "error"), [("C0GONE", "channel_not_found"), ("C0OLD", "is_archived")])
async def test_missing_and_archived_channels_are_unreachable(
    fake_slack: FakeSlack, digest: Digest, channel: str, error: str
) -> None:
    fake_slack.channels["C0OLD"] = Channel("C0OLD", "old", is_archived=True)
    slack, _ = poster(fake_slack)
    with pytest.raises(ChatUnreachable, match=error) as raised:
        await slack.post_digest(channel, digest)
    assert not raised.value.retryable


@pytest.mark.parametrize("revoked", [False, True])
async def test_a_refused_token_stops_posting_and_is_logged_once(
    fake_slack: FakeSlack, digest: Digest, caplog: pytest.LogCaptureFixture, revoked: bool
) -> None:
    fake_slack.revoked = revoked
    slack, _ = poster(fake_slack, token=BOT_TOKEN if revoked else "xoxb-wrong-token")
    caplog.set_level(logging.ERROR, logger="bot.slack.poster")
    for channel in ("C0PAPERS", "C0GENERAL", "C0PAPERS"):
        with pytest.raises(ChatUnreachable):
            await slack.post_digest(channel, digest)
    assert len(fake_slack.calls_to("/chat.postMessage")) == 1  # no call after the first refusal
    assert len([r for r in caplog.records if "refused" in r.getMessage()]) == 1
    assert BOT_TOKEN not in caplog.text


@pytest.mark.parametrize("error", ["msg_too_long", "invalid_blocks"])
async def test_a_refused_shape_falls_back_to_the_short_text_form(
    fake_slack: FakeSlack, digest: Digest, error: str
) -> None:
    fake_slack.fail_next(Fault(status=200, body={"ok": False, "error": error}, path="/api/chat.postMessage"))
    slack, _ = poster(fake_slack)
    ts = await slack.post_digest("C0PAPERS", digest)
    parent = fake_slack.posts_to("C0PAPERS")[0]
    assert parent.ts == ts and parent.blocks == []
    assert all(item.paper.title[:20] in parent.text for item in digest.items)
    assert len(fake_slack.posts_to("C0PAPERS")) == 6  # the thread still gets every brief


async def test_an_oversized_message_is_refused_by_the_fake_and_still_delivered_short(fake_slack: FakeSlack) -> None:
    slack, _ = poster(fake_slack)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": f"line {n}"}} for n in range(60)]
    await slack.send("C0PAPERS", {"text": "many", "blocks": blocks})
    (posted,) = fake_slack.posts_to("C0PAPERS")
    assert posted.blocks == [] and posted.text.startswith("line 0\nline 1")


async def test_server_errors_are_retry_later(fake_slack: FakeSlack, digest: Digest) -> None:
    fake_slack.fail_next(
        Fault(status=503, body="upstream down"), Fault(status=200, body={"ok": False, "error": "internal_error"})
    )
    slack, _ = poster(fake_slack)
    for _ in range(2):
        with pytest.raises(RetryLater):
            await slack.post_digest("C0PAPERS", digest)


async def test_progress_after_each_message_and_a_resumed_post_sends_only_the_rest_in_the_same_thread(
    fake_slack: FakeSlack, digest: Digest
) -> None:
    slack, _ = poster(fake_slack)
    seen: list[PostProgress] = []

    async def on_progress(progress: PostProgress) -> None:
        seen.append(progress)

    ts = await slack.post_digest("C0PAPERS", digest, on_progress=on_progress)
    assert seen == [PostProgress(n, ts) for n in range(1, 7)]
    whole = fake_slack.posts_to("C0PAPERS")
    # A sender died after message 3 was recorded: the next one posts replies 3..5 (messages 4..6) under the parent.
    seen.clear()
    again = await slack.post_digest("C0PAPERS", digest, resume=PostProgress(3, ts), on_progress=on_progress)
    rest = fake_slack.posts_to("C0PAPERS")[len(whole) :]
    assert again == ts and seen == [PostProgress(n, ts) for n in (4, 5, 6)]
    assert [m.thread_ts for m in rest] == [ts] * 3
    assert [m.blocks for m in rest] == [m.blocks for m in whole[3:]]
    assert await slack.post_digest("C0PAPERS", digest, resume=PostProgress(6, ts)) == ts  # all out: nothing to send
    assert len(fake_slack.posts_to("C0PAPERS")) == 9


async def test_superseded_from_the_progress_callback_stops_the_post(fake_slack: FakeSlack, digest: Digest) -> None:
    slack, _ = poster(fake_slack)

    async def taken_over(progress: PostProgress) -> None:
        if progress.done == 2:
            raise Superseded("another sender owns the claim")

    with pytest.raises(Superseded):
        await slack.post_digest("C0PAPERS", digest, on_progress=taken_over)
    assert len(fake_slack.posts_to("C0PAPERS")) == 2
