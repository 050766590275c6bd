"""Update handlers: commands answered by bot.commands, subscriptions, and the section buttons.

Each handler is small: read the update, ask the store or the command engine, send the rendered reply.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telegram import CallbackQuery, Chat, InlineKeyboardMarkup, Update
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot import metrics
from bot.commands.reply import Part, Reply
from bot.telegram.html import Piece, copy, paginate, paper_blocks, reply_pieces, section_blocks
from bot.telegram.poster import (
    NO_PREVIEW,
    SectionRequest,
    TelegramPoster,
    is_parse_error,
    section_keyboard,
    send_pieces,
)
from digest.models import Lang
from digest.settings import Settings
from digest.store.base import Store, StoreUnavailable, Subscription
from digest.topics import parse_topics

log = logging.getLogger(__name__)

# (command, Korean description, English description): registered with setMyCommands so clients list them.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("start", "시작하기와 구독 안내", "Start and how to subscribe"),
    ("help", "사용법과 예시", "How to use, with examples"),
    ("paper", "논문 질문, 예: /paper 3 risks", "Ask about a paper, e.g. /paper 3 risks"),
    ("digest", "다이제스트 보기, 예: /digest 2026-02-13", "Show a digest, e.g. /digest 2026-02-13"),
    ("subscribe", "매일 아침 다이제스트 받기", "Get the digest every morning"),
    ("unsubscribe", "아침 다이제스트 그만 받기", "Stop the morning digest"),
    ("settings", "시간·시간대·언어·주제 설정", "Time, timezone, language, topics"),
)


@dataclass
class Deps:
    settings: Settings
    store: Store
    poster: TelegramPoster


def deps(context: ContextTypes.DEFAULT_TYPE) -> Deps:
    return context.application.bot_data["deps"]  # type: ignore[no-any-return]


def _t(lang: Lang, ko: str, en: str) -> str:
    return ko if lang == "ko" else en


async def _lang(d: Deps, chat: Chat) -> Lang:
    try:
        sub = await d.store.get_subscription("telegram", str(chat.id))
    except StoreUnavailable:
        sub = None
    return sub.lang if sub else d.settings.lang


async def _send(context: ContextTypes.DEFAULT_TYPE, update: Update, reply: Reply) -> None:
    chat, message = update.effective_chat, update.effective_message
    if chat is None:
        return
    reply_to = message.message_id if message is not None and chat.type != Chat.PRIVATE else None
    metrics.command_answered("telegram", reply.kind)  # every command's reply goes out here
    await send_pieces(context.bot, chat.id, reply_pieces(reply), link_preview=NO_PREVIEW, reply_to=reply_to)


def _today(settings: Settings) -> date:
    return datetime.now(settings.tz).date()


async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    """Answer `text` ("/paper 3 risks", "/digest", "/help", free text in a private chat) with bot.commands."""
    from bot.commands.engine import answer  # the engine of issue 4; imported here so this module loads without it

    d = deps(context)
    chat = update.effective_chat
    if chat is None:
        return
    lang = await _lang(d, chat)
    try:
        reply = await answer(text, d.store, lang=lang, today=_today(d.settings), public_url=d.settings.public_url)
    except StoreUnavailable:
        reply = Reply(
            kind="unavailable",
            title=_t(lang, "저장소에 잠시 연결할 수 없습니다", "The store is unreachable right now"),
            footer=_t(lang, "잠시 후 다시 시도해 주세요: /paper 3 risks", "Please try again shortly: /paper 3 risks"),
        )
    await _send(context, update, reply)


def _command_text(update: Update, context: ContextTypes.DEFAULT_TYPE, command: str) -> str:
    """ "/paper@OurBot 3 risks" as the engine expects it: "/paper 3 risks"."""
    return " ".join([f"/{command}", *(context.args or [])])


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    d = deps(context)
    chat = update.effective_chat
    lang = await _lang(d, chat) if chat else d.settings.lang
    reply = Reply(
        kind="help",
        title=_t(
            lang,
            "📚 매일 아침 AI 논문 Top 5를 한국어 요약과 함께 보내드립니다",
            "📚 The top 5 AI papers every morning, briefed",
        ),
        parts=[
            Part(items=[f"/{name} — {ko if lang == 'ko' else en}" for name, ko, en in COMMANDS]),
        ],
        footer=_t(
            lang, "구독하려면 /subscribe, 바로 보려면 /digest", "Subscribe with /subscribe, or see today's with /digest"
        ),
    )
    await _send(context, update, reply)


async def on_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await ask(update, context, "/help")


async def on_paper(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await ask(update, context, _command_text(update, context, "paper"))


async def on_digest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await ask(update, context, _command_text(update, context, "digest"))


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Free text in a private chat ("3 risks", "paper 2 dev") goes to the engine, which explains mistakes."""
    message = update.effective_message
    if message is not None and message.text:
        await ask(update, context, message.text)


# ---- subscriptions -----------------------------------------------------------------------------------------


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


def _describe(sub: Subscription, settings: Settings) -> list[str]:
    post_time = (sub.post_time or settings.post_time).strftime("%H:%M")
    lang = sub.lang
    return [
        _t(lang, f"시간: {post_time}", f"time: {post_time}"),
        _t(lang, f"시간대: {sub.timezone or settings.timezone}", f"timezone: {sub.timezone or settings.timezone}"),
        _t(lang, f"언어: {sub.lang}", f"language: {sub.lang}"),
        _t(lang, "주제: ", "topics: ") + (", ".join(sub.topics) or _t(lang, "전체", "all")),
    ]


SETTINGS_EXAMPLES = (
    "/settings time 07:30 · /settings timezone Asia/Seoul · /settings lang en · /settings topics llm, agents"
)


async def _allowed_change(update: Update, context: ContextTypes.DEFAULT_TYPE) -> tuple[Deps, Chat, Lang] | None:
    """What a subscription change needs, or None after telling a non-admin in a group why not."""
    d = deps(context)
    chat = update.effective_chat
    if chat is None:
        return None
    lang = await _lang(d, chat)
    if not await _may_change(update, context):
        await _send(context, update, _admins_only(lang))
        return None
    return d, chat, lang


async def on_subscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    allowed = await _allowed_change(update, context)
    if allowed is None:
        return
    d, chat, lang = allowed
    user = update.effective_user
    sub = await d.store.get_subscription("telegram", str(chat.id))
    if sub is None:
        sub = Subscription(
            platform="telegram",
            chat_id=str(chat.id),
            lang=d.settings.lang,
            created_by=str(user.id) if user else None,
            created_at=datetime.now(d.settings.tz),
        )
        await d.store.put_subscription(sub)
        title = _t(
            lang,
            "✅ 구독했습니다: 매일 아침 다이제스트를 보내드립니다",
            "✅ Subscribed: the digest arrives every morning",
        )
    else:
        title = _t(lang, "이미 구독 중입니다", "Already subscribed")
    await _send(
        context, update, Reply(title=title, parts=[Part(items=_describe(sub, d.settings))], footer=SETTINGS_EXAMPLES)
    )


async def on_unsubscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    allowed = await _allowed_change(update, context)
    if allowed is None:
        return
    d, chat, lang = allowed
    removed = await d.store.delete_subscription("telegram", str(chat.id))
    title = (
        _t(lang, "구독을 해지했습니다. 다시 받으려면 /subscribe", "Unsubscribed. /subscribe to get it again")
        if removed
        else _t(lang, "구독 중이 아닙니다. 구독하려면 /subscribe", "Not subscribed. /subscribe to start")
    )
    await _send(context, update, Reply(title=title))


def _admins_only(lang: Lang) -> Reply:
    return Reply(
        kind="error",
        title=_t(
            lang, "그룹에서는 관리자만 구독을 바꿀 수 있습니다", "In groups only admins can change the subscription"
        ),
        footer=_t(lang, "지금 설정 보기: /settings", "See the current settings: /settings"),
    )


def apply_setting(sub: Subscription, key: str, value: str) -> str | None:
    """Change one setting in place; the reason it cannot be applied, or None."""
    key = key.lower()
    if key in ("time", "시간"):
        try:
            sub.post_time = time.fromisoformat(value.strip().zfill(5))
        except ValueError:
            return f"'{value}': HH:MM, e.g. /settings time 07:30"
    elif key in ("timezone", "tz", "시간대"):
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError):
            return f"'{value}': an IANA timezone, e.g. /settings timezone Asia/Seoul"
        sub.timezone = value.strip()
    elif key in ("lang", "language", "언어"):
        if value.strip().lower() not in ("ko", "en"):
            return f"'{value}': ko or en, e.g. /settings lang en"
        sub.lang = value.strip().lower()  # type: ignore[assignment]
    elif key in ("topics", "topic", "주제"):
        sub.topics = parse_topics(value)  # commas separate topics ("reinforcement learning, audio"), else spaces
    else:
        return f"'{key}': one of time, timezone, lang, topics"
    return None


async def on_settings(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    d = deps(context)
    chat = update.effective_chat
    if chat is None:
        return
    lang = await _lang(d, chat)
    sub = await d.store.get_subscription("telegram", str(chat.id))
    if sub is None:
        await _send(
            context,
            update,
            Reply(kind="error", title=_t(lang, "먼저 /subscribe 로 구독하세요", "Subscribe first: /subscribe")),
        )
        return
    args = context.args or []
    if args:
        if not await _may_change(update, context):
            await _send(context, update, _admins_only(lang))
            return
        problem = (
            apply_setting(sub, args[0], " ".join(args[1:])) if len(args) > 1 else f"'{args[0]}': {SETTINGS_EXAMPLES}"
        )
        if problem:
            await _send(
                context,
                update,
                Reply(
                    kind="error",
                    title=_t(lang, "설정을 바꾸지 못했습니다", "Setting not changed"),
                    parts=[Part(paragraphs=[problem])],
                    footer=SETTINGS_EXAMPLES,
                ),
            )
            return
        await d.store.put_subscription(sub)
    title = _t(sub.lang, "⚙️ 구독 설정", "⚙️ Subscription settings")
    await _send(
        context, update, Reply(title=title, parts=[Part(items=_describe(sub, d.settings))], footer=SETTINGS_EXAMPLES)
    )


# ---- section buttons -------------------------------------------------------------------------------------


async def on_section(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A section button under a paper: show that section from the stored digest. The query is always answered
    (clients show a spinner until it is), with an alert when the button no longer leads anywhere."""
    query = update.callback_query
    if query is None:
        return
    alert: str | None = None
    kind = "answer"
    try:
        d = deps(context)
        request = SectionRequest.parse(query.data)
        digest = await d.store.get_digest(request.day, request.lang) if request else None
        item = digest.item(request.rank) if digest and request else None
        if request is None or item is None:
            alert, kind = copy(request.lang if request else d.settings.lang, "gone"), "error"
            return
        if request.key == "summary":
            blocks = paper_blocks(item, request.lang, request.day, d.settings.public_url)
        else:
            blocks = section_blocks(item, request.key, request.lang)
        pieces = paginate(blocks)
        message = query.message
        keyboard = section_keyboard(request.day, request.lang, item)
        if message is not None and getattr(message, "text", None) and len(pieces) == 1:
            await _edit(query, pieces[0], keyboard)
        elif message is not None:
            await send_pieces(context.bot, message.chat.id, pieces, reply_to=message.message_id)
    except StoreUnavailable:
        alert, kind = "⏳ store unavailable, try again shortly", "unavailable"
    finally:
        metrics.command_answered("telegram", kind)
        try:
            await query.answer(alert, show_alert=alert is not None)
        except TelegramError as exc:  # the query expired (older than ~15 min); nothing to show any more
            log.info("callback query not answered: %s", exc)


async def _edit(query: CallbackQuery, piece: Piece, keyboard: InlineKeyboardMarkup) -> None:
    try:
        await query.edit_message_text(
            piece.html, parse_mode=ParseMode.HTML, reply_markup=keyboard, link_preview_options=NO_PREVIEW
        )
    except BadRequest as exc:
        if "not modified" in exc.message.lower():
            return  # the same button pressed twice
        if not is_parse_error(exc):
            raise
        await query.edit_message_text(piece.text, reply_markup=keyboard, link_preview_options=NO_PREVIEW)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    log.error("telegram update failed: %s", context.error, exc_info=context.error)
