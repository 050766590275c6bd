"""An update from Telegram, from its bytes to its answer, the same for the webhook and for polling.

`read_update` checks what the handlers rely on (a bad update is a 400 naming the problem, never a crash later);
`chat_key` keeps one chat's updates in order in the ChatQueue; `answer_once` answers an update_id once across
every process sharing the store, however often Telegram (or a second server behind the same webhook) delivers it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from telegram import Bot, Update
from telegram.ext import Application

from bot import metrics
from digest.store import StoreUnavailable
from digest.store.base import DeliveryLedger

log = logging.getLogger(__name__)

ONCE_TTL_S = 24 * 3600.0  # Telegram gives up on an update long before a day
MAX_DEPTH = 32  # Telegram's updates nest a few levels (a reply's message in a message); JSON deeper is not one

Int = Annotated[int, Field(strict=True, ge=-(2**63), lt=2**63)]


class BadUpdate(ValueError):
    """The body is not an update this bot can answer; the message says why (for the 400, never the body)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Chat(_Strict):
    id: Int
    type: str


class _User(_Strict):
    id: Int


class _Message(_Strict):
    message_id: Int
    date: Annotated[int, Field(strict=True, ge=0, lt=2**40)]
    chat: _Chat
    text: str | None = None


class _CallbackQuery(_Strict):
    id: str
    from_: _User = Field(alias="from")
    data: str | None = None


class _Update(_Strict):
    """The fields the handlers read, with their types; PTB itself accepts a chat without id or text that is a number."""

    update_id: Annotated[int, Field(strict=True, ge=0, lt=2**63)]
    message: _Message | None = None
    callback_query: _CallbackQuery | None = None


_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.S)  # a JSON string, with any brackets inside it
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def _nested_at_most(levels: int) -> re.Pattern[bytes]:
    """Balanced brackets at most `levels` deep: a regular language for a fixed bound, matched in linear time
    (possessive repeats never backtrack), with no recursion in Python or in the regex engine."""
    pattern = b""
    for _ in range(levels):
        pattern = rb"(?:[\[{]" + pattern + rb"[\]}])*+"
    return re.compile(pattern)


_WITHIN_DEPTH = _nested_at_most(MAX_DEPTH)


def check_depth(body: bytes) -> None:
    """BadUpdate when arrays and objects nest deeper than MAX_DEPTH, found before any recursive parser runs."""
    if body.count(b"[") + body.count(b"{") <= MAX_DEPTH:
        return
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    if _WITHIN_DEPTH.fullmatch(brackets) is None:
        raise BadUpdate(f"JSON nested deeper than {MAX_DEPTH} levels (or its brackets do not balance)")


def read_update(body: bytes, bot: Bot) -> Update:
    """The update in `body`, or BadUpdate saying what is wrong with it."""
    check_depth(body)
    try:
        data: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:  # also a number of more than 4,300 digits
        raise BadUpdate(f"body is not JSON: {str(exc)[:80]}") from None
    if not isinstance(data, dict):
        raise BadUpdate(f"an update is a JSON object, not {type(data).__name__}")
    try:
        _Update.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise BadUpdate(f"{where}: {first['msg']}") from None
    try:
        update = Update.de_json(data, bot)
    except Exception as exc:  # PTB raises TypeError, ValueError, OverflowError… on shapes the check above let by
        raise BadUpdate(f"not an update: {type(exc).__name__}") from None
    if update is None:
        raise BadUpdate("not an update")
    return update


def chat_key(update: Update) -> str:
    """The updates of one chat are answered in order; those of different chats concurrently."""
    if update.effective_chat is not None:
        return f"chat:{update.effective_chat.id}"
    if update.effective_user is not None:
        return f"user:{update.effective_user.id}"
    return f"update:{update.update_id}"


def once_key(bot: Bot, update: Update) -> str:
    """Update ids are counted per bot: the key carries the bot's id (the token's public part, before the colon)."""
    return f"telegram-update:{bot.token.partition(':')[0]}:{update.update_id}"


async def answer_once(
    app: Application,  # type: ignore[type-arg]
    store: DeliveryLedger,
    update: Update,
    ready: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Run the handlers on `update` unless some process already took this update_id (within ONCE_TTL_S).

    `ready` makes the Application usable first (its getMe), outside the webhook's request. When the store
    cannot say, the update is answered: the command then says the archive is unavailable, better than silence."""
    if ready is not None:
        await ready()
    try:
        first = await store.first_time(once_key(app.bot, update), ONCE_TTL_S)
    except StoreUnavailable as exc:
        log.warning("telegram: cannot check update %d against the store, answering it: %s", update.update_id, exc)
        first = True
    if not first:
        metrics.update_received("telegram", "duplicate")
        log.info("telegram: update %d was already answered; skipped", update.update_id)
        return
    await app.process_update(update)
