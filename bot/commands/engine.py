"""answer(text, store) -> Reply: every follow-up is answered from the store, with no LLM call and no network.

`answer` never raises: a user mistake gets kind="error" with what was wrong and a working example, an unreachable
store gets kind="unavailable" (the next request simply tries again), and anything unexpected is logged and
answered with a short apology.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, timedelta

from bot.commands.parse import (
    MAX_LENGTH,
    Day,
    DigestCommand,
    HelpCommand,
    PaperCommand,
    ParseError,
    SectionsCommand,
    parse,
)
from bot.commands.reply import Entry, Link, Part, Reply
from digest.links import permalink
from digest.models import Digest, Item, Lang
from digest.render import title as digest_title
from digest.sections import (
    LABELS,
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

log = logging.getLogger(__name__)

ID_SEARCH_DAYS = 60  # "/paper 2602.12205" looks through this many recent digests

COPY: dict[Lang, dict[str, str]] = {
    "ko": {
        "example": "예: {example}",
        "empty": "명령이 비어 있습니다.",
        "too_long": "입력이 너무 깁니다({detail}자). 명령은 {limit}자 이내로 보내 주세요.",
        "control": "입력에 제어 문자가 들어 있습니다. 명령만 다시 입력해 주세요.",
        "unknown_command": "'{detail}'은(는) 모르는 명령입니다. /paper, /digest, /sections, /help 를 쓸 수 있습니다.",
        "missing_target": "몇 번 논문인지 알려 주세요(1-5 또는 arXiv ID).",
        "two_targets": "논문은 하나만 지정해 주세요('{detail}'이(가) 두 번째입니다).",
        "bad_number": "'{detail}'은(는) 논문 번호로 쓸 수 없습니다. 1, 2, 3 같은 정수를 쓰세요.",
        "unknown_section": "'{detail}'은(는) 모르는 섹션입니다. 섹션: {sections}",
        "bad_date": "'{detail}'은(는) 날짜가 아닙니다. YYYY-MM-DD, today, yesterday, latest 중 하나를 쓰세요.",
        "extra_words": "'{detail}'은(는) 이해하지 못했습니다. 날짜는 하나만 지정할 수 있습니다.",
        "out_of_range": "{date} 다이제스트에는 {first}-{last}번이 있습니다({rank}번은 없습니다).",
        "empty_digest": "{date} 다이제스트에는 논문이 없습니다.",
        "no_digest": "{date} 다이제스트는 없습니다. 가장 가까운 날짜는 {nearest}입니다.",
        "no_digests": "아직 저장된 다이제스트가 없습니다. 아침 다이제스트가 올라온 뒤 다시 물어봐 주세요.",
        "no_paper": "최근 다이제스트에서 arXiv {paper_id} 논문을 찾지 못했습니다.",
        "unavailable": "아카이브를 잠시 사용할 수 없습니다. 잠시 뒤 같은 명령을 다시 보내 주세요.",
        "internal": "답을 만들다가 문제가 생겼습니다. 운영자에게 알렸습니다. 잠시 뒤 다시 시도해 주세요.",
        "meta": "{date} 다이제스트 {rank}번",
        "more": "다른 섹션: {others} · /sections",
        "digest_more": "자세히: {commands}",
        "full": "전체 보기",
        "help_title": "paper-digest-bot 사용법",
        "help_commands": "명령",
        "help_sections": "섹션",
        "help_note": "답은 저장된 다이제스트에서 바로 나옵니다(LLM 호출 없음). 날짜가 없으면 가장 최근 다이제스트입니다.",
        "sections_title": "/paper N 섹션",
        "unsupported": LABELS["ko"]["unsupported"],
        "absent": LABELS["ko"]["absent"],
    },
    "en": {
        "example": "Example: {example}",
        "empty": "The command is empty.",
        "too_long": "The message is too long ({detail} characters); keep a command under {limit}.",
        "control": "The message contains control characters; type the command again.",
        "unknown_command": "'{detail}' is not a command. Try /paper, /digest, /sections or /help.",
        "missing_target": "Say which paper: a number (1-5) or an arXiv id.",
        "two_targets": "Name one paper only ('{detail}' is a second one).",
        "bad_number": "'{detail}' is not a paper number; use a whole number such as 1, 2 or 3.",
        "unknown_section": "'{detail}' is not a section. Sections: {sections}",
        "bad_date": "'{detail}' is not a date; use YYYY-MM-DD, today, yesterday or latest.",
        "extra_words": "'{detail}' was not understood; give one date at most.",
        "out_of_range": "The {date} digest has papers {first}-{last} (there is no {rank}).",
        "empty_digest": "The {date} digest has no papers.",
        "no_digest": "There is no digest for {date}. The nearest day with one is {nearest}.",
        "no_digests": "No digest is stored yet. Ask again after the morning digest is posted.",
        "no_paper": "arXiv {paper_id} is not in any recent digest.",
        "unavailable": "The archive is temporarily unavailable. Send the same command again in a moment.",
        "internal": "Something went wrong while answering; the operator has been told. Try again in a moment.",
        "meta": "Digest of {date}, #{rank}",
        "more": "Other sections: {others} · /sections",
        "digest_more": "More: {commands}",
        "full": "Full digest",
        "help_title": "How to use paper-digest-bot",
        "help_commands": "Commands",
        "help_sections": "Sections",
        "help_note": "Answers come straight from the stored digest (no LLM call). Without a date: the latest digest.",
        "sections_title": "/paper N SECTION",
        "unsupported": LABELS["en"]["unsupported"],
        "absent": LABELS["en"]["absent"],
    },
}

EXAMPLES = {"paper": "/paper 3 risks", "digest": "/digest latest", "any": "/paper 3 risks"}

HELP_LINES: dict[Lang, list[str]] = {
    "ko": [
        "/paper N [섹션] [날짜] — N번 논문의 한 섹션 (예: /paper 3 risks, /paper 2 리스크 2026-02-13)",
        "/paper ARXIV_ID [섹션] — arXiv ID로 찾기 (예: /paper 2602.12205 links)",
        "/digest [날짜|today|yesterday|latest] — 그날의 Top 5 목록",
        "/sections — 섹션 이름과 별칭",
        "/help — 이 도움말",
    ],
    "en": [
        "/paper N [SECTION] [DATE] — one section of paper N (e.g. /paper 3 risks, /paper 2 dev 2026-02-13)",
        "/paper ARXIV_ID [SECTION] — find a paper by its arXiv id (e.g. /paper 2602.12205 links)",
        "/digest [DATE|today|yesterday|latest] — that day's top 5",
        "/sections — section names and aliases",
        "/help — this help",
    ],
}


def _section_line(section: Section, lang: Lang) -> str:
    names = ", ".join((section.key, *section.aliases[:3]))
    return f"{section.heading(lang)} — {names}"


def _error(lang: Lang, message: str, example: str) -> Reply:
    return Reply(kind="error", parts=[Part(paragraphs=[message])], footer=COPY[lang]["example"].format(example=example))


def _parse_error(exc: ParseError, lang: Lang) -> Reply:
    sections = ", ".join(s.key for s in SECTIONS)
    message = COPY[lang][exc.code].format(detail=exc.detail, limit=MAX_LENGTH, sections=sections)
    return _error(lang, message, EXAMPLES[exc.command])


def _resolve(day: Day | None, today: date) -> date | None:
    if day is None or day == "latest":
        return None
    if day == "today":
        return today
    if day == "yesterday":
        return today - timedelta(days=1)
    return day


async def _missing_day(store: Store, lang: Lang, day: date | None, example: str) -> Reply:
    """No digest for `day` (or none at all): name the nearest day that has one, with a command for it."""
    days = await store.list_dates(lang)
    copy = COPY[lang]
    if not days:
        return Reply(
            kind="error", parts=[Part(paragraphs=[copy["no_digests"]])], footer=copy["example"].format(example="/help")
        )
    target = day or days[0]
    nearest = min(days, key=lambda d: (abs((d - target).days), -d.toordinal()))
    message = copy["no_digest"].format(date=target.isoformat(), nearest=nearest.isoformat())
    return _error(lang, message, f"{example} {nearest.isoformat()}")


def _item_parts(item: Item, section: Section, lang: Lang) -> list[Part]:
    copy = COPY[lang]
    brief = item.brief
    if section.key == "links":
        return []
    if section.key == "tags":
        return [Part(heading=section.heading(lang), paragraphs=[", ".join(brief.tags) or copy["absent"]])]
    shown = present_sections(brief) if section.key == "all" else [section]
    parts: list[Part] = []
    notes = []
    if (note := fallback_note(item, lang)) is not None:
        notes.append(note)
    if item.checks.unsupported_numbers:
        notes.append(f"{copy['unsupported']}: {', '.join(item.checks.unsupported_numbers)}")
    if notes:
        parts.append(Part(paragraphs=notes))
    for shown_section in shown:
        body = section_body(shown_section, brief)
        heading = section_heading(shown_section, brief, lang)
        if not body:
            parts.append(Part(heading=heading, paragraphs=[copy["absent"]]))
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


def _digest_link(digest: Digest, public_url: str | None, lang: Lang) -> list[Link]:
    if not public_url:
        return []
    return [Link(label=COPY[lang]["full"], url=permalink(public_url, digest.date, lang=digest.lang))]


def paper_reply(digest: Digest, item: Item, section: Section, lang: Lang, public_url: str | None = None) -> Reply:
    """One paper, one section (or all of them), as the neutral Reply."""
    copy = COPY[lang]
    fields = [copy["meta"].format(date=digest.date.isoformat(), rank=item.rank)]
    fields += [f"{label} {value}" for label, value in meta_fields(item, digest.lang)]
    meta = " · ".join(fields)
    links = [Link(label=label, url=url) for label, url in item.paper.links()] if section.key in ("links", "all") else []
    parts = [Part(heading=section.heading(lang))] if section.key == "links" else _item_parts(item, section, lang)
    return Reply(
        title=f"{item.rank}. {item.paper.title}",
        title_url=item.paper.url,
        parts=[Part(paragraphs=[meta]), *parts],
        links=links + _digest_link(digest, public_url, lang),
        footer=copy["more"].format(rank=item.rank, others=_other_sections(item, section)),
    )


def _entry(item: Item) -> Entry:
    """A paper of /digest: its title as the link, then its votes (where counted) and its one-liner."""
    votes = f" (👍 {item.paper.upvotes})" if item.paper.upvotes is not None else ""
    line = f" — {item.brief.one_liner}" if item.brief.one_liner else ""
    return Entry(text=f"{item.rank}. {item.paper.title}", url=item.paper.url, detail=votes + line)


def digest_reply(digest: Digest, lang: Lang, public_url: str | None = None) -> Reply:
    copy = COPY[lang]
    if not digest.items:
        body = [*digest.notes] or [copy["empty_digest"].format(date=digest.date.isoformat())]
        return Reply(
            title=digest_title(digest), parts=[Part(paragraphs=body)], links=_digest_link(digest, public_url, lang)
        )
    parts = [Part(paragraphs=list(digest.notes))] if digest.notes else []
    parts.append(Part(entries=[_entry(i) for i in digest.items]))
    if digest.daily_actions:
        parts.append(Part(heading=SECTION_BY_KEY["actions"].heading(lang), items=list(digest.daily_actions)))
    return Reply(
        title=digest_title(digest),
        parts=parts,
        links=_digest_link(digest, public_url, lang),
        footer=copy["digest_more"].format(
            commands=f"/paper 1 · {_other_sections(digest.items[0], SECTION_BY_KEY['all'])}"
        ),
    )


def help_reply(lang: Lang) -> Reply:
    copy = COPY[lang]
    return Reply(
        kind="help",
        title=copy["help_title"],
        parts=[
            Part(heading=copy["help_commands"], items=HELP_LINES[lang]),
            Part(heading=copy["help_sections"], items=[_section_line(s, lang) for s in SECTIONS]),
        ],
        footer=copy["help_note"],
    )


def sections_reply(lang: Lang) -> Reply:
    return Reply(
        kind="help",
        title=COPY[lang]["sections_title"],
        parts=[Part(items=[_section_line(s, lang) for s in SECTIONS])],
        footer=COPY[lang]["example"].format(example="/paper 3 risks · /paper 1 리스크"),
    )


async def _answer_paper(cmd: PaperCommand, store: Store, lang: Lang, today: date, public_url: str | None) -> Reply:
    copy = COPY[lang]
    day = _resolve(cmd.day, today)
    if cmd.paper_id is not None:
        return await _answer_paper_id(cmd, cmd.paper_id, store, lang, day, public_url)
    digest = await store.find_digest(lang, day)
    if digest is None:
        return await _missing_day(store, lang, day, f"/paper {cmd.rank} {cmd.section.key}")
    item = digest.item(cmd.rank or 0)
    if item is None:
        if not digest.items:
            return _error(lang, copy["empty_digest"].format(date=digest.date.isoformat()), "/digest latest")
        ranks = [i.rank for i in digest.items]
        message = copy["out_of_range"].format(
            date=digest.date.isoformat(), first=min(ranks), last=max(ranks), rank=cmd.rank
        )
        return _error(lang, message, f"/paper {max(ranks)} {cmd.section.key}")
    return paper_reply(digest, item, cmd.section, lang, public_url)


async def _answer_paper_id(
    cmd: PaperCommand, paper_id: str, store: Store, lang: Lang, day: date | None, public_url: str | None
) -> Reply:
    days = [day] if day is not None else (await store.list_dates(lang))[:ID_SEARCH_DAYS]
    for candidate in days:
        digest = await store.find_digest(lang, candidate)
        if digest is not None and (item := digest.find(paper_id)) is not None:
            return paper_reply(digest, item, cmd.section, lang, public_url)
    if day is not None and await store.find_digest(lang, day) is None:
        return await _missing_day(store, lang, day, f"/paper {paper_id} {cmd.section.key}")
    return _error(lang, COPY[lang]["no_paper"].format(paper_id=paper_id), f"/paper 1 {cmd.section.key}")


async def _answer_digest(cmd: DigestCommand, store: Store, lang: Lang, today: date, public_url: str | None) -> Reply:
    day = _resolve(cmd.day, today)
    digest = await store.find_digest(lang, day)
    if digest is None:
        return await _missing_day(store, lang, day, "/digest")
    return digest_reply(digest, lang, public_url)


async def answer(
    text: str,
    store: Store,
    *,
    lang: Lang = "ko",
    today: date,
    public_url: str | None = None,
    default_day: date | None = None,
) -> Reply:
    """The reply to one message. `today` is the date in the deployment's timezone ("today", "yesterday");
    `default_day` stands in for "the latest digest" when the text names no day (`digestbot ask --date`)."""
    try:
        cmd = parse(text)
    except ParseError as exc:
        return _parse_error(exc, lang)
    if default_day is not None and isinstance(cmd, PaperCommand) and cmd.day is None:
        cmd = replace(cmd, day=default_day)
    elif default_day is not None and isinstance(cmd, DigestCommand) and cmd.day == "latest":
        cmd = DigestCommand(default_day)
    try:
        if isinstance(cmd, HelpCommand):
            return help_reply(lang)
        if isinstance(cmd, SectionsCommand):
            return sections_reply(lang)
        if isinstance(cmd, DigestCommand):
            return await _answer_digest(cmd, store, lang, today, public_url)
        return await _answer_paper(cmd, store, lang, today, public_url)
    except StoreUnavailable as exc:
        log.warning("command answered 'unavailable': %s", exc)
        return Reply(kind="unavailable", parts=[Part(paragraphs=[COPY[lang]["unavailable"]])])
    except Exception:  # a reply is always better than a crashed listener; the log has the traceback
        log.exception("command failed: %r", text[:80])
        return Reply(kind="error", parts=[Part(paragraphs=[COPY[lang]["internal"]])])
