"""Subscribing a chat to the morning post: one grammar and one handler for /subscribe, /settings and /unsubscribe
(and whatever a platform calls them, e.g. Slack's /digest-subscribe).

Words in any order: a time (08:30), a timezone (Asia/Seoul), a language (ko|en), then optionally `topics …`
(the rest of the text: "RL, audio", or "off" to clear). Labels may stand before a value ("time 07:30",
"timezone Europe/Berlin", "lang en"). "off" unsubscribes; "status" (or /settings alone) shows the subscription.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.commands.context import Context
from bot.commands.parse import SubscriptionCommand
from bot.commands.reply import Part, Reply
from bot.commands.texts import text
from digest.models import LANGS, Lang
from digest.store.base import Subscription, SubscriptionStore
from digest.topics import parse_topics

Action = Literal["subscribe", "change", "unsubscribe", "status"]

_OFF = {"off", "stop", "unsubscribe", "cancel", "해지", "취소", "중지"}
_STATUS = {"status", "show", "settings", "상태", "확인", "설정"}
_TOPICS = {"topics", "topic", "주제"}
_LABELS = {"time", "시간", "시각", "timezone", "tz", "시간대", "lang", "language", "언어"}
_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


@dataclass(frozen=True)
class SubscribeRequest:
    action: Action
    post_time: time | None = None
    timezone: str | None = None
    lang: Lang | None = None
    topics: list[str] | None = None  # None: unchanged; []: every paper


class BadRequest(ValueError):
    def __init__(self, word: str) -> None:
        super().__init__(word)
        self.word = word


def parse(args: str, verb: str = "subscribe") -> SubscribeRequest:
    """The request `args` make under `verb`; raises BadRequest naming the first word that is none of time,
    timezone, language, topics, off, status."""
    if verb == "unsubscribe":
        return SubscribeRequest("unsubscribe")
    words = args.split()
    topics: list[str] | None = None
    at = next((n for n, word in enumerate(words) if word.lower() in _TOPICS), None)
    if at is not None:
        if at + 1 == len(words):
            raise BadRequest(words[at])  # "topics" and nothing after it: say how, rather than clear them
        topics = parse_topics(" ".join(words[at + 1 :]))
        words = words[:at]
    words = [word for word in words if word.lower() not in _LABELS]
    if not words and topics is None and verb == "settings":
        return SubscribeRequest("status")
    if len(words) == 1 and topics is None and words[0].lower() in _OFF:
        return SubscribeRequest("unsubscribe")
    if len(words) == 1 and topics is None and words[0].lower() in _STATUS:
        return SubscribeRequest("status")
    post_time: time | None = None
    timezone: str | None = None
    lang: Lang | None = None
    for word in words:
        low = word.lower()
        if m := _TIME.fullmatch(word):
            post_time = time(int(m.group(1)), int(m.group(2)))
        elif low in LANGS:
            lang = low  # type: ignore[assignment]
        elif "/" in word or word.upper() == "UTC":
            try:
                ZoneInfo(word)
            except (ZoneInfoNotFoundError, ValueError):
                raise BadRequest(word) from None
            timezone = word
        else:
            raise BadRequest(word)
    action: Action = "change" if verb == "settings" else "subscribe"
    return SubscribeRequest(action, post_time, timezone, lang, topics)


def _commands(ctx: Context) -> dict[str, str]:
    return {"cmd": ctx.subscribe_command, "settings": ctx.settings_command}


def _said(lang: Lang, ctx: Context, message: str, kind: Literal["answer", "error"] = "answer") -> Reply:
    return Reply(
        kind=kind,
        title=text(lang, "sub_title"),
        parts=[Part(paragraphs=[message])],
        footer=text(lang, "sub_example", **_commands(ctx)),
    )


def describe(sub: Subscription, ctx: Context) -> str:
    """What the chat gets, in the subscription's language."""
    at = (sub.post_time or ctx.default_time).strftime("%H:%M")
    said = text(sub.lang, "sub_subscribed", time=at, tz=sub.timezone or ctx.default_timezone, lang=sub.lang)
    if sub.topics:
        return said + " " + text(sub.lang, "sub_topics", topics=", ".join(sub.topics), **_commands(ctx))
    return said + " " + text(sub.lang, "sub_no_topics", **_commands(ctx))


async def handle(cmd: SubscriptionCommand, store: SubscriptionStore, ctx: Context, lang: Lang) -> Reply:
    """Apply the command to the chat in `ctx` and say what the chat now gets (StoreUnavailable propagates)."""
    try:
        request = parse(cmd.args, cmd.verb)
    except BadRequest as exc:
        return _said(lang, ctx, text(lang, "sub_bad", word=exc.word[:40]), "error")
    if ctx.chat_id is None:
        return _said(lang, ctx, text(lang, "sub_not_subscribed", **_commands(ctx)), "error")
    current = await store.get_subscription(ctx.platform, ctx.chat_id)
    if request.action == "status" or (request.action == "change" and current is None):
        if current is None:
            return _said(lang, ctx, text(lang, "sub_not_subscribed", **_commands(ctx)))
        return _said(current.lang, ctx, describe(current, ctx))
    if not await ctx.may_change():
        return Reply(
            kind="error",
            title=text(lang, "sub_title"),
            parts=[Part(paragraphs=[text(lang, "sub_refused", **_commands(ctx))])],
        )
    if request.action == "unsubscribe":
        deleted = await store.delete_subscription(ctx.platform, ctx.chat_id)
        key = "sub_unsubscribed" if deleted else "sub_not_subscribed"
        return _said(lang, ctx, text(lang, key, **_commands(ctx)))
    sub = (current or Subscription(platform=ctx.platform, chat_id=ctx.chat_id, lang=lang)).model_copy()
    sub.team_id = ctx.workspace_id or sub.team_id
    sub.created_by = sub.created_by or ctx.user_id
    sub.created_at = sub.created_at or datetime.now(UTC)
    sub.failures = 0
    if request.post_time is not None:
        sub.post_time = request.post_time
    if request.timezone is not None:
        sub.timezone = request.timezone
    if request.lang is not None:
        sub.lang = request.lang
    if request.topics is not None:
        sub.topics = request.topics
    await store.put_subscription(sub)
    return _said(sub.lang, ctx, describe(sub, ctx))
