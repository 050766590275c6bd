"""Subscribing a chat to the morning post: parse "08:30 Asia/Seoul en" / "topics RL, audio" / "off" / "status",
store, answer a Reply.

Platform-neutral: the Slack (and Telegram) adapters check who may do it, then call `subscribe`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.commands.reply import Part, Reply
from digest.models import Lang
from digest.store.base import Platform, Store, Subscription
from digest.topics import parse_topics

Action = Literal["subscribe", "unsubscribe", "status"]

_OFF = {"off", "stop", "unsubscribe", "cancel", "해지", "취소", "중지"}
_STATUS = {"status", "show", "상태", "확인"}
_TOPICS = {"topics", "topic", "주제"}
_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")

_COPY: dict[Lang, dict[str, str]] = {
    "ko": {
        "example": "예: `{cmd} 08:30 Asia/Seoul ko` · 주제: `{cmd} topics RL, audio` · 해지: `{cmd} off` · 확인: `{cmd} status`",
        "bad": "'{word}'을(를) 알 수 없습니다. 시각(HH:MM), 시간대(예: Asia/Seoul), 언어(ko|en), 또는 `topics` 뒤에 주제를 적어 주세요.",
        "subscribed": "이 채널은 매일 {time} ({tz})에 {lang} 다이제스트를 받습니다.",
        "topics": "주제: {topics} (Top 5 중 이 주제에 맞는 논문만 받습니다. 전체 보기: `/digest` · 해제: `{cmd} topics off`)",
        "no_topics": "주제: 전체 (특정 주제만 받으려면 `{cmd} topics RL, audio`)",
        "unsubscribed": "이 채널의 아침 다이제스트 구독을 해지했습니다.",
        "not_subscribed": "이 채널은 아침 다이제스트를 구독하고 있지 않습니다.",
        "title": "📬 아침 다이제스트 구독",
        "refused": "채널 구독 설정은 워크스페이스 관리자나 지정된 사용자만 바꿀 수 있습니다. 관리자에게 부탁해 주세요.",
    },
    "en": {
        "example": "e.g. `{cmd} 08:30 Asia/Seoul en` · topics: `{cmd} topics RL, audio` · stop: `{cmd} off` · check: `{cmd} status`",
        "bad": "'{word}' is not understood. Give a time (HH:MM), a timezone (e.g. Asia/Seoul), a language (ko|en) and/or `topics` followed by topics.",
        "subscribed": "This channel gets the {lang} digest every day at {time} ({tz}).",
        "topics": "Topics: {topics} (only the top-5 papers matching them; full digest: `/digest` · clear: `{cmd} topics off`)",
        "no_topics": "Topics: all (to get only some: `{cmd} topics RL, audio`)",
        "unsubscribed": "This channel no longer gets the morning digest.",
        "not_subscribed": "This channel is not subscribed to the morning digest.",
        "title": "📬 Morning digest subscription",
        "refused": "Only workspace admins or the configured allow-list can change a channel's subscription; please ask one.",
    },
}


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


def parse(text: str) -> SubscribeRequest:
    """Words in any order, then optionally `topics ...` (the rest of the text: "RL, audio", or "off" to clear);
    raises BadRequest naming the first word that is none of time, timezone, lang, topics, off, status."""
    words = text.split()
    topics: list[str] | None = None
    at = next((n for n, word in enumerate(words) if word.lower() in _TOPICS), None)
    if at is not None:
        if at + 1 == len(words):
            raise BadRequest(words[at])  # "topics" and nothing after it: say how, rather than clear them
        topics = parse_topics(" ".join(words[at + 1 :]))
        words = words[:at]
    if len(words) == 1 and words[0].lower() in _OFF:
        return SubscribeRequest("unsubscribe")
    if len(words) == 1 and words[0].lower() in _STATUS:
        return SubscribeRequest("status")
    post_time: time | None = None
    timezone: str | None = None
    lang: Lang | None = None
    for word in words:
        low = word.lower()
        if m := _TIME.fullmatch(word):
            post_time = time(int(m.group(1)), int(m.group(2)))
        elif low in ("ko", "en"):
            lang = low  # type: ignore[assignment]
        elif "/" in word or word.upper() == "UTC":
            try:
                ZoneInfo(word)
            except (ZoneInfoNotFoundError, ValueError):
                raise BadRequest(word) from None
            timezone = word
        else:
            raise BadRequest(word)
    return SubscribeRequest("subscribe", post_time, timezone, lang, topics)


def usage(lang: Lang, command: str, problem: str | None = None) -> Reply:
    copy = _COPY[lang]
    return Reply(
        kind="error" if problem else "help",
        title=copy["title"],
        parts=[Part(paragraphs=[problem])] if problem else [],
        footer=copy["example"].format(cmd=command),
    )


def refused(lang: Lang) -> Reply:
    return Reply(kind="error", title=_COPY[lang]["title"], parts=[Part(paragraphs=[_COPY[lang]["refused"]])])


async def subscribe(
    text: str,
    store: Store,
    *,
    platform: Platform,
    chat_id: str,
    lang: Lang,
    default_time: time,
    default_timezone: str,
    command: str,
    team_id: str | None = None,
    user_id: str | None = None,
    may_change: bool = True,
) -> Reply:
    """Apply a subscribe/unsubscribe/status request for one chat and say what the chat now gets."""
    copy = _COPY[lang]
    try:
        request = parse(text)
    except BadRequest as exc:
        return usage(lang, command, copy["bad"].format(word=exc.word[:40]))
    current = await store.get_subscription(platform, chat_id)
    if request.action != "status" and not may_change:
        return refused(lang)
    if request.action == "unsubscribe":
        deleted = await store.delete_subscription(platform, chat_id)
        return _said(lang, copy["unsubscribed"] if deleted else copy["not_subscribed"], command)
    if request.action == "status":
        if current is None:
            return _said(lang, copy["not_subscribed"], command)
        return _said(lang, _describe(current, default_time, default_timezone, command), command)
    sub = (current or Subscription(platform=platform, chat_id=chat_id, lang=lang)).model_copy()
    sub.team_id = team_id or sub.team_id
    sub.created_by = sub.created_by or user_id
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
    return _said(lang, _describe(sub, default_time, default_timezone, command), command)


def _describe(sub: Subscription, default_time: time, default_timezone: str, command: str) -> str:
    copy = _COPY[sub.lang]
    at = (sub.post_time or default_time).strftime("%H:%M")
    said = copy["subscribed"].format(time=at, tz=sub.timezone or default_timezone, lang=sub.lang)
    if sub.topics:
        return said + " " + copy["topics"].format(topics=", ".join(sub.topics), cmd=command)
    return said + " " + copy["no_topics"].format(cmd=command)


def _said(lang: Lang, message: str, command: str) -> Reply:
    copy = _COPY[lang]
    return Reply(title=copy["title"], parts=[Part(paragraphs=[message])], footer=copy["example"].format(cmd=command))
