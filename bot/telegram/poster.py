"""Sending to Telegram: HTML pieces with a plain-text fallback, the morning post, and error mapping.

TelegramPoster implements bot.platform.Poster; Telegram's exceptions never leave this module on the
delivery path: they become RetryLater, ChatUnreachable or ChatMoved, and bot/delivery decides what they
mean for the chat's subscription.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Sequence

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.commands.engine import section_buttons
from bot.platform import ChatMoved, ChatUnreachable, DeliveryError, OnProgress, PostProgress, RetryLater
from bot.telegram.html import CAPTION_LIMIT, Piece, header_blocks, paginate, paper_blocks
from digest.models import Digest, Item
from digest.text import utf16_len

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def chat_ref(chat_id: str | int) -> int | str:
    """Numeric ids as int (what the API and the rate limiter expect); "@channel" names as they are."""
    try:
        return int(chat_id)
    except (TypeError, ValueError):
        return str(chat_id)


def is_parse_error(exc: TelegramError) -> bool:
    return isinstance(exc, BadRequest) and "can't parse entities" in exc.message.lower()


def section_keyboard(digest: Digest, item: Item) -> InlineKeyboardMarkup:
    """The section buttons under a paper: the same buttons (bot.commands) as under the engine's paper replies."""
    keys = [InlineKeyboardButton(b.label, callback_data=b.action) for b in section_buttons(digest, item, digest.lang)]
    return InlineKeyboardMarkup([keys[n : n + 2] for n in range(0, len(keys), 2)])


# ---- sending ---------------------------------------------------------------------------------------------


async def send_pieces(
    bot: Bot,
    chat_id: int | str,
    pieces: Sequence[Piece],
    *,
    reply_markup: InlineKeyboardMarkup | None = None,
    link_preview: LinkPreviewOptions | None = None,
    reply_to: int | None = None,
) -> list[Message]:
    """Send each piece as HTML; one Telegram cannot parse goes again as plain text so it is never lost.
    The keyboard goes on the last piece, under the text it belongs to."""
    sent: list[Message] = []
    for n, piece in enumerate(pieces):
        markup = reply_markup if n == len(pieces) - 1 else None
        sent.append(
            await send_piece(bot, chat_id, piece, reply_markup=markup, link_preview=link_preview, reply_to=reply_to)
        )
    return sent


async def send_piece(
    bot: Bot,
    chat_id: int | str,
    piece: Piece,
    *,
    reply_markup: InlineKeyboardMarkup | None = None,
    link_preview: LinkPreviewOptions | None = None,
    reply_to: int | None = None,
) -> Message:
    """One piece as one message: HTML, or plain text when Telegram cannot parse the HTML."""
    reply = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
    common = {"reply_markup": reply_markup, "link_preview_options": link_preview, "reply_parameters": reply}
    try:
        return await bot.send_message(chat_id, piece.html, parse_mode=ParseMode.HTML, **common)
    except BadRequest as exc:
        if not is_parse_error(exc):
            raise
        log.warning("Telegram could not parse a message's HTML (%s); sent it as plain text", exc.message)
        return await bot.send_message(chat_id, piece.text, **common)


def translate(exc: TelegramError) -> DeliveryError:
    """A Telegram error as the delivery errors bot/delivery understands."""
    if isinstance(exc, RetryAfter):
        from bot.telegram.ratelimit import retry_after_seconds

        return RetryLater(str(exc), retry_after_seconds(exc))
    if isinstance(exc, ChatMigrated):
        return ChatMoved(str(exc), str(exc.new_chat_id))
    if isinstance(exc, Forbidden) or (isinstance(exc, BadRequest) and "chat not found" in exc.message.lower()):
        return ChatUnreachable(exc.message)
    if isinstance(exc, NetworkError) and not isinstance(exc, BadRequest):
        return RetryLater(str(exc))  # timeouts and connection errors (BadRequest subclasses NetworkError)
    error = DeliveryError(str(exc))
    error.retryable = False  # the request itself was wrong; sending it again would fail the same way
    return error


class TelegramPoster:
    """The morning post: one header message with the five papers, then one message per paper with buttons."""

    platform = "telegram"

    def __init__(self, bot: Bot, *, tz_name: str = "Asia/Seoul", public_url: str | None = None) -> None:
        self.bot = bot
        self.tz_name = tz_name
        self.public_url = public_url

    async def post_digest(
        self,
        chat_id: str,
        digest: Digest,
        *,
        resume: PostProgress | None = None,
        on_progress: OnProgress | None = None,
    ) -> str:
        try:
            return await self._post(chat_ref(chat_id), digest, resume, on_progress)
        except TelegramError as exc:
            raise translate(exc) from exc

    async def _post(
        self, chat: int | str, digest: Digest, resume: PostProgress | None, on_progress: OnProgress | None
    ) -> str:
        """Send the post's messages in order, skipping the `resume.done` already out; report after each one."""
        done, first = (resume.done, resume.first_id) if resume else (0, None)
        for n, send in enumerate(self.messages(chat, digest), 1):
            if n <= done:
                continue
            message = await send()
            first = first or str(message.message_id)
            if on_progress:
                await on_progress(PostProgress(n, first))
        assert first is not None  # the header is never empty
        return first

    def messages(self, chat: int | str, digest: Digest) -> list[Callable[[], Awaitable[Message]]]:
        """The morning post as a fixed sequence of single-message sends: the header's pages, then each paper's
        message(s). The same digest always gives the same sequence, which is what lets a post resume."""
        sends: list[Callable[[], Awaitable[Message]]] = [
            functools.partial(send_piece, self.bot, chat, piece, link_preview=NO_PREVIEW)
            for piece in paginate(header_blocks(digest, self.tz_name))
        ]
        for item in digest.items:
            sends += self.paper_messages(chat, digest, item)
        return sends

    def paper_messages(self, chat: int | str, digest: Digest, item: Item) -> list[Callable[[], Awaitable[Message]]]:
        pieces = paginate(paper_blocks(item, digest.lang, digest.date, self.public_url))
        keyboard = section_keyboard(digest, item)
        # A photo when the whole message fits in a caption; a photo Telegram cannot fetch (or a caption it
        # cannot parse) costs the picture, never the message.
        if item.paper.thumbnail and len(pieces) == 1 and utf16_len(pieces[0].text) <= CAPTION_LIMIT:
            return [functools.partial(self._photo_or_text, chat, item, pieces[0], keyboard)]
        # Too long for a caption: the thumbnail as the link preview above the text, still one message.
        preview = LinkPreviewOptions(url=item.paper.thumbnail, prefer_large_media=True, show_above_text=True)
        last = len(pieces) - 1
        return [
            functools.partial(
                send_piece,
                self.bot,
                chat,
                piece,
                reply_markup=keyboard if n == last else None,  # the keyboard under the text it belongs to
                link_preview=preview if item.paper.thumbnail else None,
            )
            for n, piece in enumerate(pieces)
        ]

    async def _photo_or_text(
        self, chat: int | str, item: Item, piece: Piece, keyboard: InlineKeyboardMarkup
    ) -> Message:
        try:
            return await self.bot.send_photo(
                chat, item.paper.thumbnail, caption=piece.html, parse_mode=ParseMode.HTML, reply_markup=keyboard
            )
        except BadRequest as exc:
            log.info("thumbnail of paper %s not sent (%s); sending text only", item.paper.id, exc.message)
        preview = LinkPreviewOptions(url=item.paper.thumbnail, prefer_large_media=True, show_above_text=True)
        return await send_piece(self.bot, chat, piece, reply_markup=keyboard, link_preview=preview)
