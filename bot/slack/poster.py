"""Posting to Slack: the morning digest (parent + one thread reply per paper) and any message, with Slack's
errors mapped to bot.platform's DeliveryError classes. This is the only place that sends chat messages.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.platform import ChatUnreachable, DeliveryError, OnProgress, PostProgress, RetryLater
from bot.slack.blocks import MAX_FALLBACK_TEXT, Message, brief_message, digest_message, short_digest_text
from digest.models import Digest
from digest.store.base import Platform
from digest.text import truncate

log = logging.getLogger(__name__)

# The token itself is gone: no chat can be posted to until an operator installs a new one.
AUTH_ERRORS = frozenset({"invalid_auth", "token_revoked", "account_inactive", "not_authed", "token_expired"})
# This chat cannot take posts; the delivery unsubscribes it after repeated failures.
CHAT_ERRORS = frozenset({"channel_not_found", "is_archived", "restricted_action", "not_allowed_token_type"})
# The message is refused as too big or malformed: send a shorter, text-only form instead.
SHAPE_ERRORS = frozenset({"msg_too_long", "invalid_blocks", "invalid_blocks_format", "too_many_attachments"})
# conversations.join answers these when the bot may not join by itself (private channel, scope not granted).
CANNOT_JOIN = frozenset({"method_not_supported_for_channel_type", "missing_scope", "not_allowed_token_type"})

Sleep = Callable[[float], Awaitable[None]]


def slack_error(exc: SlackApiError) -> str:
    data = exc.response.data if exc.response is not None else None
    return str(data.get("error", "unknown_error")) if isinstance(data, dict) else "unknown_error"


def retry_after(exc: SlackApiError) -> float:
    headers = exc.response.headers if exc.response is not None else {}
    try:
        return max(0.0, float(headers.get("Retry-After") or headers.get("retry-after") or 1))
    except (TypeError, ValueError):
        return 1.0


def text_only(message: Message) -> str:
    """The shorter form of any message: its fallback text and section texts as mrkdwn, cut to 3,000 characters."""
    texts = [b["text"]["text"] for b in message.get("blocks", []) if b.get("type") == "section" and b.get("text")]
    return truncate("\n".join(texts) or message.get("text") or "…", MAX_FALLBACK_TEXT)


class SlackPoster:
    """Implements bot.platform.Poster for Slack; `send` is also what listeners use to post into a thread."""

    platform: Platform = "slack"

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        public_url: str | None = None,
        max_attempts: int = 4,
        max_wait_s: float = 30.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.client = client
        self.public_url = public_url
        self.max_attempts = max_attempts
        self.max_wait_s = max_wait_s  # a longer Retry-After is handed to the delivery's backoff instead
        self.sleep = sleep
        self.auth_error: str | None = None  # set once the token is refused; every later post stops early

    async def post_digest(
        self,
        chat_id: str,
        digest: Digest,
        *,
        resume: PostProgress | None = None,
        on_progress: OnProgress | None = None,
    ) -> str:
        """Message 1 is the parent, messages 2..6 the thread replies; `resume` skips those already out."""
        done = resume.done if resume else 0
        if done == 0:
            parent = await self.send(
                chat_id, digest_message(digest, self.public_url), short_text=short_digest_text(digest, self.public_url)
            )
            done = 1
            if on_progress:
                await on_progress(PostProgress(done, parent))
        else:
            assert resume is not None and resume.first_id  # PostProgress guarantees it
            parent = resume.first_id
        for n, item in enumerate(digest.items, 2):
            if n <= done:
                continue  # out before a previous sender stopped
            try:
                await self.send(chat_id, brief_message(item, digest.lang), thread_ts=parent)
            except DeliveryError as exc:
                # The parent is out and carries the essentials; re-posting it would duplicate the morning post.
                log.warning(
                    "slack: brief %d of %s not posted in the thread in %s: %s", item.rank, digest.date, chat_id, exc
                )
                if self.auth_error:
                    break
            done = n  # a brief given up on counts as done too: a resumed post goes on after it, as this one does
            if on_progress:
                await on_progress(PostProgress(done, parent))
        return parent

    async def send(
        self, channel: str, message: Message, *, thread_ts: str | None = None, short_text: str | None = None
    ) -> str:
        """Post a message (into a thread when `thread_ts`); return its ts. Raises a DeliveryError subclass."""
        if self.auth_error:
            raise ChatUnreachable(f"Slack refused the bot token earlier ({self.auth_error}); not posting")
        payload: dict[str, Any] = {"channel": channel, "unfurl_links": False, "unfurl_media": False, **message}
        if thread_ts:
            payload["thread_ts"] = thread_ts
        joined = shortened = False
        attempts = 0
        while True:
            attempts += 1
            try:
                response = await self.client.chat_postMessage(**payload)
                return str(response["ts"])
            except SlackApiError as exc:
                error = slack_error(exc)
                status = exc.response.status_code if exc.response is not None else 0
                if status == 429 or error == "ratelimited":
                    wait = retry_after(exc)
                    if attempts >= self.max_attempts or wait > self.max_wait_s:
                        raise RetryLater(f"Slack rate limit in {channel}", retry_after_s=wait) from None
                    await self.sleep(wait)
                    continue
                if error == "not_in_channel" and not joined:
                    joined = True
                    await self._join(channel)
                    continue
                if error in SHAPE_ERRORS and not shortened:
                    shortened = True
                    log.warning("slack: %s refused the message in %s; sending the shorter text form", error, channel)
                    payload = {k: v for k, v in payload.items() if k != "blocks"}
                    payload["text"] = short_text or text_only(message)
                    continue
                if error in AUTH_ERRORS:
                    self._token_refused(error)
                    raise ChatUnreachable(f"Slack refused the bot token ({error})") from None
                if error in CHAT_ERRORS:
                    raise ChatUnreachable(f"Slack channel {channel}: {error}") from None
                # 5xx, internal_error and anything unknown: the delivery backs off and tries again.
                raise RetryLater(f"Slack refused the post to {channel}: {error or status}") from None
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise RetryLater(f"Slack unreachable: {type(exc).__name__}") from None

    async def _join(self, channel: str) -> None:
        try:
            await self.client.conversations_join(channel=channel)
            log.info("slack: joined %s to post the digest", channel)
        except SlackApiError as exc:
            error = slack_error(exc)
            if error in AUTH_ERRORS:
                self._token_refused(error)
            if error in CANNOT_JOIN:
                raise ChatUnreachable(
                    f"the bot is not in {channel} and cannot join it ({error}); invite it there with /invite @digestbot"
                ) from None
            raise ChatUnreachable(f"the bot is not in {channel} and joining failed ({error})") from None

    def _token_refused(self, error: str) -> None:
        if self.auth_error is None:  # log once: every later post stops before calling Slack
            log.error(
                "slack: the bot token was refused (%s); Slack posting stops until SLACK_BOT_TOKEN is fixed", error
            )
        self.auth_error = error
