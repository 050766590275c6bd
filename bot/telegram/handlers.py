"""Update handlers: every command, free text in a private chat, and every button, answered by bot.commands.

The handlers only translate: an update becomes the engine's text (or button data) and Context, and the neutral
Reply becomes HTML messages with an inline keyboard.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from telegram import CallbackQuery, Chat, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot import metrics
from bot.commands import engine
from bot.commands.context import Context
from bot.commands.reply import Button, Reply
from bot.telegram.html import Piece, reply_pieces
from bot.telegram.platform import Telegram
from bot.telegram.poster import NO_PREVIEW, is_parse_error, send_pieces
from digest.settings import Settings
from digest.store.base import Store

log = logging.getLogger(__name__)

# The commands clients list when the user types "/", each described in the user's language (bot.commands.texts).
COMMANDS: tuple[str, ...] = ("start", "help", "paper", "digest", "sections", "subscribe", "unsubscribe", "settings")


@dataclass
class Deps:
    settings: Settings
    store: Store


def deps(context: ContextTypes.DEFAULT_TYPE) -> Deps:
    return context.application.bot_data["deps"]  # type: ignore[no-any-return]


def keyboard(buttons: list[Button]) -> InlineKeyboardMarkup | None:
    """The reply's buttons, two to a row."""
    if not buttons:
        return None
    keys = [InlineKeyboardButton(b.label, callback_data=b.action) for b in buttons]
    return InlineKeyboardMarkup([keys[n : n + 2] for n in range(0, len(keys), 2)])


async def _may_change(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """In groups only admins change the subscription; an anonymous admin posts as the group itself."""
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    if chat is None or chat.type == Chat.PRIVATE:
        return True
    if message is not None and message.sender_chat is not None and message.sender_chat.id == chat.id:
        return True
    if user is None:
        return False
    member = await context.bot.get_chat_member(chat.id, user.id)
    return member.status in (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)


def _context(update: Update, context: ContextTypes.DEFAULT_TYPE, chat: Chat) -> Context:
    user = update.effective_user

    async def may_change() -> bool:
        return await _may_change(update, context)

    return Telegram.context(
        deps(context).settings,
        chat_id=str(chat.id),
        user_id=str(user.id) if user else None,
        private=chat.type == Chat.PRIVATE,
        may_change=may_change,
    )


def _addressed_elsewhere(text: str, bot_username: str | None) -> bool:
    """ "/paper@OtherBot 3" in a group is for another bot."""
    command = text.split(maxsplit=1)[0] if text.strip() else ""
    _, at, name = command.partition("@")
    return bool(at) and bot_username is not None and name.lower() != bot_username.lower()


async def _send(context: ContextTypes.DEFAULT_TYPE, update: Update, reply: Reply) -> None:
    chat, message = update.effective_chat, update.effective_message
    if chat is None:
        return
    reply_to = message.message_id if message is not None and chat.type != Chat.PRIVATE else None
    metrics.command_answered("telegram", reply.kind)  # every command's reply goes out here
    await send_pieces(
        context.bot,
        chat.id,
        reply_pieces(reply),
        reply_markup=keyboard(reply.buttons),
        link_preview=NO_PREVIEW,
        reply_to=reply_to,
    )


async def on_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every command ("/paper 3 risks", "/subscribe", "/sections", an unknown one) goes to the engine."""
    chat, message = update.effective_chat, update.effective_message
    if chat is None or message is None or not message.text:
        return
    if _addressed_elsewhere(message.text, context.bot.username):
        return
    d = deps(context)
    reply = await engine.answer(message.text, d.store, _context(update, context, chat))
    await _send(context, update, reply)


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Free text in a private chat ("3 risks", "paper 2 dev") goes to the engine, which explains mistakes."""
    await on_command(update, context)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any button press. The query is always answered (clients show a spinner until it is): with the section
    (edited into the message when it fits there, else sent under it), or an alert saying why not."""
    query = update.callback_query
    if query is None:
        return
    alert: str | None = None
    kind = "error"
    try:
        d = deps(context)
        chat = query.message.chat if query.message is not None else None
        ctx = _context(update, context, chat) if chat is not None else Telegram.context(d.settings)
        reply = await engine.answer_button(query.data, d.store, ctx)
        kind = reply.kind
        if reply.kind != "answer" or query.message is None:
            alert = " ".join(p for part in reply.parts for p in part.paragraphs)[:200] or "…"
            return
        pieces = reply_pieces(reply)
        markup = keyboard(reply.buttons)
        message = query.message
        if getattr(message, "text", None) and len(pieces) == 1:
            await _edit(query, pieces[0], markup)
        else:
            await send_pieces(
                context.bot, message.chat.id, pieces, reply_markup=markup, link_preview=NO_PREVIEW,
                reply_to=message.message_id,
            )  # fmt: skip
    finally:
        metrics.command_answered("telegram", kind)
        try:
            await query.answer(alert, show_alert=alert is not None)
        except TelegramError as exc:  # the query expired (older than ~15 min); nothing to show any more
            log.info("callback query not answered: %s", exc)


async def _edit(query: CallbackQuery, piece: Piece, markup: InlineKeyboardMarkup | None) -> None:
    try:
        await query.edit_message_text(
            piece.html, parse_mode=ParseMode.HTML, reply_markup=markup, link_preview_options=NO_PREVIEW
        )
    except BadRequest as exc:
        if "not modified" in exc.message.lower():
            return  # the same button pressed twice
        if not is_parse_error(exc):
            raise
        await query.edit_message_text(piece.text, reply_markup=markup, link_preview_options=NO_PREVIEW)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    log.error("telegram update failed: %s", context.error, exc_info=context.error)
