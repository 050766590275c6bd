"""answer(text, store, ctx) -> Reply: every user action, on every platform and in the terminal, is answered here,
from the store, with no LLM call and no network. answer_button does the same for a pressed section button.

Neither raises: a user mistake gets kind="error" with what was wrong and a working example, an unreachable
store gets kind="unavailable" (the next request simply tries again), and anything unexpected is logged and
answered with a short apology.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from bot.commands import buttons, subscribe
from bot.commands.context import Context
from bot.commands.parse import (
    MAX_LENGTH,
    Day,
    DigestCommand,
    HelpCommand,
    PaperCommand,
    ParseError,
    SectionsCommand,
    StartCommand,
    SubscriptionCommand,
    parse,
)
from bot.commands.reply import Button, Entry, Link, Part, Reply
from bot.commands.texts import text as t
from digest.links import permalink
from digest.models import Digest, Item, Lang
from digest.render import title as digest_title
from digest.sections import (
    SECTION_BY_KEY,
    SECTIONS,
    Section,
    fallback_note,
    has_section,
    meta_fields,
    present_sections,
    section_body,
    section_heading,
)
from digest.store import Store, StoreUnavailable
from digest.store.base import DigestStore

log = logging.getLogger(__name__)

ID_SEARCH_DAYS = 60  # "/paper 2602.12205" looks through this many recent digests

EXAMPLES = {"paper": "/paper 3 risks", "digest": "/digest latest", "any": "/paper 3 risks"}
# The sections a paper's reply offers as buttons (the morning post's paper messages offer the same).
BUTTON_SECTIONS = ("summary", "dev", "actions", "risks", "uncertainty", "abstract", "links")


def _section_line(section: Section, lang: Lang) -> str:
    names = ", ".join((section.key, *section.aliases[:3]))
    return f"{section.heading(lang)} — {names}"


def _error(lang: Lang, message: str, example: str) -> Reply:
    return Reply(kind="error", parts=[Part(paragraphs=[message])], footer=t(lang, "example", example=example))


def _parse_error(exc: ParseError, lang: Lang, ctx: Context) -> Reply:
    if exc.code == "unknown_command":  # an unknown command gets the help, which lists the ones there are
        reply = help_reply(lang, ctx)
        notice = Part(paragraphs=[t(lang, "unknown_command", detail=exc.detail)])
        return reply.model_copy(update={"kind": "error", "parts": [notice, *reply.parts]})
    sections = ", ".join(s.key for s in SECTIONS)
    message = t(lang, exc.code, detail=exc.detail, limit=MAX_LENGTH, sections=sections)
    return _error(lang, message, EXAMPLES[exc.command])


def _resolve(day: Day | None, today: date) -> date | None:
    if day is None or day == "latest":
        return None
    if day == "today":
        return today
    if day == "yesterday":
        return today - timedelta(days=1)
    return day


async def _missing_day(store: DigestStore, lang: Lang, day: date | None, example: str, ctx: Context) -> Reply:
    """No digest for `day` (or none at all): name the nearest day that has one, with a command for it."""
    days = await store.list_dates(lang)
    if not days:
        where = ctx.store_description
        empty = t(lang, "no_digests_in", store=where) if where else t(lang, "no_digests")
        return Reply(kind="error", parts=[Part(paragraphs=[empty])], footer=t(lang, "example", example="/help"))
    target = day or days[0]
    nearest = min(days, key=lambda d: (abs((d - target).days), -d.toordinal()))
    message = t(lang, "no_digest", date=target.isoformat(), nearest=nearest.isoformat())
    return _error(lang, message, f"{example} {nearest.isoformat()}")


def _item_parts(item: Item, section: Section, lang: Lang) -> list[Part]:
    brief = item.brief
    if section.key == "links":
        return []
    if section.key == "tags":
        return [Part(heading=section.heading(lang), paragraphs=[", ".join(brief.tags) or t(lang, "absent")])]
    shown = present_sections(brief) if section.key == "all" else [section]
    parts: list[Part] = []
    notes = [note] if (note := fallback_note(item, lang)) is not None else []
    if item.checks.unsupported_numbers:
        notes.append(f"{t(lang, 'unsupported')}: {', '.join(item.checks.unsupported_numbers)}")
    if notes:
        parts.append(Part(paragraphs=notes))
    for shown_section in shown:
        body = section_body(shown_section, brief)
        heading = section_heading(shown_section, brief, lang)
        if not body:
            parts.append(Part(heading=heading, paragraphs=[t(lang, "absent")]))
        elif isinstance(body, list):
            parts.append(Part(heading=heading, items=body))
        else:
            parts.append(Part(heading=heading, paragraphs=[p for p in body.split("\n\n") if p]))
    if section.key == "all" and brief.tags:
        parts.append(Part(heading=SECTION_BY_KEY["tags"].heading(lang), paragraphs=[", ".join(brief.tags)]))
    return parts


def _other_sections(item: Item, shown: Section) -> str:
    """Two other sections this brief has (never one that would only say it is missing)."""
    keys = [
        k for k in ("risks", "actions", "dev", "abstract", "links") if k != shown.key and has_section(item.brief, k)
    ]
    return " · ".join(f"/paper {item.rank} {k}" for k in keys[:2])


def _full_view(public_url: str | None, digest: Digest, lang: Lang, rank: int | None = None) -> list[Link]:
    """The archive page of the digest (at the paper, given its rank), in the reader's language."""
    if not public_url:
        return []
    return [Link(label=t(lang, "full"), url=permalink(public_url, digest.date, rank, lang=lang))]


def section_buttons(digest: Digest, item: Item, lang: Lang) -> list[Button]:
    """A button per section of the paper; each carries the paper's id, never its rank."""
    out = []
    for key in BUTTON_SECTIONS:
        if not has_section(item.brief, key):  # no button that would only say the section is missing
            continue
        action = buttons.encode(digest.date, digest.lang, item.paper.id, key)
        if action is not None:
            out.append(Button(label=SECTION_BY_KEY[key].heading(lang), action=action))
    return out


def paper_reply(digest: Digest, item: Item, section: Section, lang: Lang, public_url: str | None = None) -> Reply:
    """One paper, one section (or all of them), as the neutral Reply."""
    fields = [t(lang, "meta", date=digest.date.isoformat(), rank=item.rank)]
    fields += [f"{label} {value}" for label, value in meta_fields(item, lang)]
    meta = " · ".join(fields)
    links = [Link(label=label, url=url) for label, url in item.paper.links()] if section.key in ("links", "all") else []
    parts = [Part(heading=section.heading(lang))] if section.key == "links" else _item_parts(item, section, lang)
    return Reply(
        title=f"{item.rank}. {item.paper.title}",
        title_url=item.paper.url,
        parts=[Part(paragraphs=[meta]), *parts],
        links=links + _full_view(public_url, digest, lang, item.rank),
        buttons=section_buttons(digest, item, lang),
        footer=t(lang, "more", rank=item.rank, others=_other_sections(item, section)),
    )


def _entry(item: Item) -> Entry:
    """A paper of /digest: its title as the link, then its votes (where counted) and its one-liner."""
    votes = f" (👍 {item.paper.upvotes})" if item.paper.upvotes is not None else ""
    line = f" — {item.brief.one_liner}" if item.brief.one_liner else ""
    return Entry(text=f"{item.rank}. {item.paper.title}", url=item.paper.url, detail=votes + line)


def digest_reply(digest: Digest, lang: Lang, public_url: str | None = None) -> Reply:
    if not digest.items:
        body = [*digest.notes] or [t(lang, "empty_digest", date=digest.date.isoformat())]
        return Reply(
            title=digest_title(digest), parts=[Part(paragraphs=body)], links=_full_view(public_url, digest, lang)
        )
    parts = [Part(paragraphs=list(digest.notes))] if digest.notes else []
    parts.append(Part(entries=[_entry(i) for i in digest.items]))
    if digest.daily_actions:
        parts.append(Part(heading=SECTION_BY_KEY["actions"].heading(lang), items=list(digest.daily_actions)))
    more = f"/paper 1 · {_other_sections(digest.items[0], SECTION_BY_KEY['all'])}"
    return Reply(
        title=digest_title(digest),
        parts=parts,
        links=_full_view(public_url, digest, lang),
        footer=t(lang, "digest_more", commands=more),
    )


def _section_line(section: Section, lang: Lang) -> str:
    names = ", ".join((section.key, *section.aliases[:3]))
    return f"{section.heading(lang)} — {names}"


def _command_lines(lang: Lang, ctx: Context) -> list[str]:
    commands = {"cmd": ctx.subscribe_command, "settings": ctx.settings_command}
    keys = ("help_paper", "help_paper_id", "help_digest", "help_sections_line", "help_subscribe", "help_settings")
    return [t(lang, key, **commands) for key in (*keys, "help_help")]


def help_reply(lang: Lang, ctx: Context | None = None) -> Reply:
    ctx = ctx or Context(today=date.today())
    return Reply(
        kind="help",
        title=t(lang, "help_title"),
        parts=[
            Part(heading=t(lang, "help_commands"), items=_command_lines(lang, ctx)),
            Part(heading=t(lang, "help_sections"), items=[_section_line(s, lang) for s in SECTIONS]),
        ],
        footer=t(lang, "help_note"),
    )


def start_reply(lang: Lang, ctx: Context) -> Reply:
    """The first message a chat gets from the bot: what it does, the commands, how to subscribe."""
    return Reply(
        kind="help",
        title=t(lang, "start_title"),
        parts=[Part(items=_command_lines(lang, ctx))],
        footer=t(lang, "start_note", cmd=ctx.subscribe_command),
    )


def sections_reply(lang: Lang) -> Reply:
    return Reply(
        kind="help",
        title=t(lang, "sections_title"),
        parts=[Part(items=[_section_line(s, lang) for s in SECTIONS])],
        footer=t(lang, "example", example="/paper 3 risks · /paper 1 리스크"),
    )


def unavailable_reply(lang: Lang) -> Reply:
    """The one answer while the store cannot be reached, on every platform and for every command."""
    return Reply(kind="unavailable", parts=[Part(paragraphs=[t(lang, "unavailable")])])


def internal_error_reply(lang: Lang) -> Reply:
    return Reply(kind="error", parts=[Part(paragraphs=[t(lang, "internal")])])


def button_gone_reply(lang: Lang) -> Reply:
    return Reply(kind="error", parts=[Part(paragraphs=[t(lang, "button_gone")])])


async def _answer_paper(cmd: PaperCommand, store: DigestStore, lang: Lang, ctx: Context) -> Reply:
    day = _resolve(cmd.day, ctx.today)
    if cmd.paper_id is not None:
        return await _answer_paper_id(cmd, cmd.paper_id, store, lang, day, ctx)
    digest = await store.find_digest(lang, day)
    if digest is None:
        return await _missing_day(store, lang, day, f"/paper {cmd.rank} {cmd.section.key}", ctx)
    item = digest.item(cmd.rank or 0)
    if item is None:
        if not digest.items:
            return _error(lang, t(lang, "empty_digest", date=digest.date.isoformat()), "/digest latest")
        ranks = [i.rank for i in digest.items]
        message = t(
            lang, "out_of_range", date=digest.date.isoformat(), first=min(ranks), last=max(ranks), rank=cmd.rank
        )
        return _error(lang, message, f"/paper {max(ranks)} {cmd.section.key}")
    return paper_reply(digest, item, cmd.section, lang, ctx.public_url)


async def _answer_paper_id(
    cmd: PaperCommand, paper_id: str, store: DigestStore, lang: Lang, day: date | None, ctx: Context
) -> Reply:
    days = [day] if day is not None else (await store.list_dates(lang))[:ID_SEARCH_DAYS]
    for candidate in days:
        digest = await store.find_digest(lang, candidate)
        if digest is not None and (item := digest.find(paper_id)) is not None:
            return paper_reply(digest, item, cmd.section, lang, ctx.public_url)
    if day is not None and await store.find_digest(lang, day) is None:
        return await _missing_day(store, lang, day, f"/paper {paper_id} {cmd.section.key}", ctx)
    return _error(lang, t(lang, "no_paper", paper_id=paper_id), f"/paper 1 {cmd.section.key}")


async def _answer_digest(cmd: DigestCommand, store: DigestStore, lang: Lang, ctx: Context) -> Reply:
    day = _resolve(cmd.day, ctx.today)
    digest = await store.find_digest(lang, day)
    if digest is None:
        return await _missing_day(store, lang, day, "/digest", ctx)
    return digest_reply(digest, lang, ctx.public_url)


async def chat_lang(store: Store, ctx: Context) -> Lang:
    """The language to answer in: the context's, else the chat's subscription's, else the deployment's."""
    if ctx.lang is not None:
        return ctx.lang
    if ctx.chat_id is not None:
        try:
            sub = await store.get_subscription(ctx.platform, ctx.chat_id)
        except StoreUnavailable:
            sub = None
        if sub is not None:
            return sub.lang
    return ctx.default_lang


def _context(ctx: Context | None, fields: dict[str, Any]) -> Context:
    if ctx is None:
        return Context(**fields)
    return replace(ctx, **fields) if fields else ctx


async def answer(text: str, store: Store, ctx: Context | None = None, /, **fields: Any) -> Reply:
    """The reply to one message. `ctx` says where it came from; `fields` set or override its fields
    (`answer(text, store, today=..., lang="en")` is the terminal's short form)."""
    ctx = _context(ctx, fields)
    lang = await chat_lang(store, ctx)
    try:
        cmd = parse(text)
    except ParseError as exc:
        return _parse_error(exc, lang, ctx)
    if ctx.default_day is not None and isinstance(cmd, PaperCommand) and cmd.day is None:
        cmd = replace(cmd, day=ctx.default_day)
    elif ctx.default_day is not None and isinstance(cmd, DigestCommand) and cmd.day == "latest":
        cmd = DigestCommand(ctx.default_day)
    try:
        if isinstance(cmd, HelpCommand):
            return help_reply(lang, ctx)
        if isinstance(cmd, StartCommand):
            return start_reply(lang, ctx)
        if isinstance(cmd, SectionsCommand):
            return sections_reply(lang)
        if isinstance(cmd, SubscriptionCommand):
            return await subscribe.handle(cmd, store, ctx, lang)
        if isinstance(cmd, DigestCommand):
            return await _answer_digest(cmd, store, lang, ctx)
        return await _answer_paper(cmd, store, lang, ctx)
    except StoreUnavailable as exc:
        log.warning("command answered 'unavailable': %s", exc)
        return unavailable_reply(lang)
    except Exception:  # a reply is always better than a crashed listener; the log has the traceback
        log.exception("command failed: %r", text[:80])
        return internal_error_reply(lang)


async def answer_button(data: str | None, store: Store, ctx: Context | None = None, /, **fields: Any) -> Reply:
    """The reply to a pressed section button: the section of the paper the button was posted under, found by
    its id in that day's stored digest (buttons of the old form by the rank they carry). A button that is not
    ours, or whose paper is no longer stored, gets button_gone_reply (kind "error")."""
    ctx = _context(ctx, fields)
    button = buttons.decode(data)
    if button is None:
        return button_gone_reply(await chat_lang(store, ctx))
    try:
        digest = await store.find_digest(button.lang, button.day)
        if digest is None:
            return button_gone_reply(button.lang)
        item = digest.find(button.paper_id) if button.paper_id is not None else digest.item(button.rank or 0)
        if item is None:
            return button_gone_reply(button.lang)
        return paper_reply(digest, item, SECTION_BY_KEY[button.section], button.lang, ctx.public_url)
    except StoreUnavailable as exc:
        log.warning("button answered 'unavailable': %s", exc)
        return unavailable_reply(button.lang)
    except Exception:
        log.exception("button failed: %r", (data or "")[:80])
        return internal_error_reply(button.lang)
