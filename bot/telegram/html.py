"""Telegram HTML: the neutral Reply and the morning digest as messages Telegram accepts, split to fit.

Everything is first built as blocks of lines of styled spans (plain text + tags), and only then turned
into HTML. Splitting works on that structure, so a piece can only end between blocks (paragraphs), between
lines, or, for one overlong line, between grapheme clusters of a span whose tags are re-opened in the next
piece: every piece is valid HTML on its own, and its plain form is the fallback when Telegram cannot parse it.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import date

from bot.commands.reply import Reply
from digest.links import permalink
from digest.models import Digest, Item, Lang
from digest.render import actions_heading, header_phrases, parts_note, title
from digest.sections import (
    LABELS,
    SECTION_BY_KEY,
    Section,
    fallback_note,
    has_section,
    meta_fields,
    present_sections,
    section_body,
    section_heading,
)
from digest.text import one_line, split_text, utf16_len

MESSAGE_LIMIT = 4096  # UTF-16 code units of text after entity parsing
CAPTION_LIMIT = 1024
BLOCK_SEP = "\n\n"
LINE_SEP = "\n"
# The sections a paper message offers as buttons (summary and key points are in the message itself).
BUTTON_SECTIONS = ("summary", "dev", "actions", "risks", "uncertainty", "abstract", "links")


@dataclass(frozen=True)
class Span:
    text: str
    tags: tuple[str, ...] = ()  # outermost first: "b", "i", "code", "a" (needs href)
    href: str | None = None

    def html(self) -> str:
        opened = "".join(
            f'<a href="{html.escape(self.href or "", quote=True)}">' if t == "a" else f"<{t}>" for t in self.tags
        )
        closed = "".join(f"</{t}>" for t in reversed(self.tags))
        return f"{opened}{html.escape(self.text, quote=False)}{closed}"


Line = list[Span]
Block = list[Line]


@dataclass(frozen=True)
class Piece:
    """One message: its HTML and the same text without markup (sent when Telegram rejects the HTML)."""

    html: str
    text: str


def b(text: str) -> Span:
    return Span(text, ("b",))


def i(text: str) -> Span:
    return Span(text, ("i",))


def link(text: str, url: str | None, *tags: str) -> Span:
    """A link only to an http(s) URL (Telegram rejects other hrefs); otherwise the plain text."""
    if url and url.startswith(("https://", "http://")):
        return Span(text, (*tags, "a"), url)
    return Span(text, tags)


def _text(line: Line) -> str:
    return "".join(s.text for s in line)


def _fit_line(line: Line, limit: int) -> list[Line]:
    """An overlong line as several lines, cut inside spans between grapheme clusters."""
    if utf16_len(_text(line)) <= limit:
        return [line]
    out: list[Line] = []
    current: Line = []
    used = 0
    for span in line:
        for n, chunk in enumerate(split_text(span.text, limit, first=limit - used)):
            if n > 0:
                out.append(current)
                current, used = [], 0
            if chunk:
                current.append(Span(chunk, span.tags, span.href))
                used += utf16_len(chunk)
    if current:
        out.append(current)
    return out


def _visible(line: Line) -> bool:
    return bool(_text(line).strip())


def paginate(blocks: list[Block], limit: int = MESSAGE_LIMIT) -> list[Piece]:
    """Pack blocks into as few messages as fit in `limit`; a block moves whole to the next message when it
    does not fit in this one, and is itself cut between lines only when it is longer than a message."""
    pages: list[list[tuple[str, Line]]] = []
    page: list[tuple[str, Line]] = []
    used = 0
    for block in blocks:
        lines = [piece for line in block if _visible(line) for piece in _fit_line(line, limit)]
        if not lines:
            continue
        size = sum(utf16_len(_text(line)) for line in lines) + len(LINE_SEP) * (len(lines) - 1)
        if page and used + len(BLOCK_SEP) + size > limit:
            pages.append(page)
            page, used = [], 0
        for n, line in enumerate(lines):
            sep = (BLOCK_SEP if n == 0 else LINE_SEP) if page else ""
            cost = utf16_len(sep) + utf16_len(_text(line))
            if page and used + cost > limit:
                pages.append(page)
                page, used = [], 0
                sep, cost = "", utf16_len(_text(line))
            page.append((sep, line))
            used += cost
    if page:
        pages.append(page)
    return [
        Piece(
            html="".join(sep + "".join(s.html() for s in line) for sep, line in page),
            text="".join(sep + _text(line) for sep, line in page),
        )
        for page in pages
    ]


def _paragraph_lines(text: str) -> list[Line]:
    return [[Span(line)] for line in text.split("\n") if line.strip()]


def _inline(text: str) -> str:
    """Text that continues a line: kept as it is (its leading space too), on one line."""
    return " ".join(text.split("\n"))


def _bullets(items: list[str], marker: str = "•") -> list[Line]:
    return [[Span(f"{marker} {one_line(entry)}")] for entry in items]


# ---- the neutral Reply ---------------------------------------------------------------------------------


def reply_blocks(reply: Reply) -> list[Block]:
    blocks: list[Block] = []
    if reply.title:
        blocks.append([[link(reply.title, reply.title_url, "b")]])
    for part in reply.parts:
        block: Block = [[b(part.heading)]] if part.heading else []
        for paragraph in part.paragraphs:
            block += _paragraph_lines(paragraph)
        block += _bullets(part.items)
        block += [[Span("• "), link(e.text, e.url), Span(_inline(e.detail))] for e in part.entries]
        blocks.append(block)
    if reply.links:
        line: Line = [Span("🔗 ")]
        for n, entry in enumerate(reply.links):
            line += [Span(" · ")] if n else []
            line.append(link(entry.label, entry.url))
        blocks.append([line])
    if reply.footer:
        blocks.append([[i(line)] for line in reply.footer.split("\n") if line.strip()])
    return blocks


def reply_pieces(reply: Reply) -> list[Piece]:
    return paginate(reply_blocks(reply))


def reply_to_messages(reply: Reply) -> list[str]:
    """The HTML messages a reply becomes (what `digestbot ask --platform telegram` prints)."""
    return [piece.html for piece in reply_pieces(reply)]


# ---- the morning digest --------------------------------------------------------------------------------

_COPY: dict[Lang, dict[str, str]] = {
    "ko": {
        "highlights": "오늘의 Top 이슈",
        "papers_day": "{day} 목록의 논문입니다",
        "empty": "오늘은 선정된 논문이 없습니다.",
        "hint": "각 논문의 버튼으로 섹션을 펼치거나 /paper 3 risks 처럼 물어보세요.",
        "full": "전체 보기",
        "gone": "이 다이제스트는 더 이상 저장되어 있지 않습니다. /digest 로 최신 것을 보세요.",
        "title_topics": "📚 {date} AI 논문 Top {total} 중 관심 주제 {count}편",
        "topics": "🔎 주제: {topics} · 전체 보기: /digest · 주제 해제: /settings topics off",
        "no_match": "오늘의 논문 {total}편 중 주제({topics})에 맞는 논문이 없습니다.",
    },
    "en": {
        "highlights": "Top issues today",
        "papers_day": "papers listed on {day}",
        "empty": "No papers were selected today.",
        "hint": "Open a section with the buttons under each paper, or ask e.g. /paper 3 risks.",
        "full": "Full view",
        "gone": "This digest is no longer stored. Try /digest for the latest one.",
        "title_topics": "📚 {count} of the top {total} AI papers of {date} match your topics",
        "topics": "🔎 Topics: {topics} · full digest: /digest · clear topics: /settings topics off",
        "no_match": "None of today's {total} papers matched your topics ({topics}).",
    },
}


def copy(lang: Lang, key: str) -> str:
    return _COPY[lang][key]


def hashtag(tag: str) -> str | None:
    """A tag as a hashtag Telegram links whole: letters, digits and underscores only (`Self-Evolution` ->
    `#Self_Evolution`, `On-Policy RL` -> `#On_Policy_RL`); None when nothing of it can be one (all digits)."""
    body = re.sub(r"[\W_]+", "_", one_line(tag)).strip("_")
    return f"#{body}" if body and not body.replace("_", "").isdigit() else None


def header_blocks(digest: Digest, tz_name: str = "Asia/Seoul") -> list[Block]:
    """The morning post's first message: title, time and sources, notes, top issues, the papers, the actions."""
    c = _COPY[digest.lang]
    head = header_phrases(digest, tz_name)
    heading = "📚 " + title(digest)
    view = digest.topic_filter
    if view is not None:
        heading = c["title_topics"].format(date=digest.date.isoformat(), count=len(digest.items), total=view.total)
    top: Block = [[b(heading)], [i(f"{head['generated']} · {head['sources']}")]]
    if digest.papers_day:
        top.append([Span("ℹ️ " + c["papers_day"].format(day=digest.papers_day.isoformat()))])
    top += [[Span(f"⚠️ {one_line(note)}")] for note in digest.notes]
    if view is not None:
        top.append([Span(c["topics"].format(topics=", ".join(view.topics)))])
    blocks = [top]
    if digest.highlights:
        issues: Block = [[b(c["highlights"])]]
        for h in digest.highlights:
            keywords = ", ".join(one_line(k) for k in h.keywords)
            issues.append([Span(f"{h.rank}) {one_line(h.headline)}" + (f" — {keywords}" if keywords else ""))])
        blocks.append(issues)
    index: Block = []
    for item in digest.items:
        votes = f" · 👍 {item.paper.upvotes}" if item.paper.upvotes is not None else ""
        index.append([b(f"{item.rank}. "), link(item.paper.title, item.paper.url), Span(votes)])
        if item.brief.one_liner:
            index.append([Span(f"   {one_line(item.brief.one_liner)}")])
    if not index and view is not None and view.total:
        index = [[Span(c["no_match"].format(total=view.total, topics=", ".join(view.topics)))]]
    if index or not digest.notes:  # an empty day's notes already say why
        blocks.append(index or [[Span(c["empty"])]])
    if digest.daily_actions:
        actions: Block = [[b(actions_heading(digest))]]
        actions += [[Span(f"{n}) {one_line(a)}")] for n, a in enumerate(digest.daily_actions, 1)]
        blocks.append(actions)
    if (digest.daily_actions or digest.highlights) and (note := parts_note(digest)) is not None:
        blocks.append([[i(note)]])
    if digest.items:
        blocks.append([[i(c["hint"])]])
    return blocks


def _paper_title(item: Item) -> Line:
    return [b(f"{item.rank}. "), link(item.paper.title, item.paper.url, "b")]


def _section_block(section: Section, item: Item, lang: Lang) -> Block:
    if section.key == "links":
        block: Block = [[b(section.heading(lang))]]
        return block + [[Span("• "), link(label, url)] for label, url in item.paper.links()]
    body = section_body(section, item.brief)
    if not body:
        return [[b(section.heading(lang))], [i(LABELS[lang]["absent"])]]
    block = [[b(section_heading(section, item.brief, lang))]]
    return block + (_bullets(body) if isinstance(body, list) else _paragraph_lines(body))


def full_view_url(public_url: str | None, day: date, rank: int, lang: Lang = "ko") -> str | None:
    return permalink(public_url, day, rank, lang=lang) if public_url else None


def meta_line(item: Item, lang: Lang) -> str:
    """Votes and assessed levels where they exist ("" when none do)."""
    parts = [f"{label} {value}" for label, value in meta_fields(item, lang)]
    if parts and item.paper.upvotes is not None:
        parts[0] = "👍 " + parts[0]
    return " · ".join(parts)


def paper_blocks(item: Item, lang: Lang, day: date, public_url: str | None = None) -> list[Block]:
    """The morning message of one paper: title, meta, notices, the one-liner and key points, links."""
    labels = LABELS[lang]
    paper, brief = item.paper, item.brief
    head: Block = [_paper_title(item)]
    if meta := meta_line(item, lang):
        head.append([Span(meta)])
    tags = [tag for tag in (hashtag(t) for t in brief.tags) if tag]
    if tags:
        head.append([Span("🏷️ " + " ".join(tags))])
    blocks = [head]
    notices: Block = []
    if (note := fallback_note(item, lang)) is not None:
        notices.append([i(note)])
    if item.checks.unsupported_numbers:
        notices.append([i(f"{labels['unsupported']}: {', '.join(item.checks.unsupported_numbers)}")])
    blocks.append(notices)
    blocks += [_section_block(SECTION_BY_KEY[k], item, lang) for k in ("summary", "points") if has_section(brief, k)]
    links: Line = [Span("🔗 ")]
    for n, (label, url) in enumerate(paper.links()):
        links += [Span(" · ")] if n else []
        links.append(link(label, url))
    full = full_view_url(public_url, day, item.rank, lang)
    if full:
        links += [Span(" · "), link(copy(lang, "full"), full, "b")]
    blocks.append([links])
    return blocks


def section_blocks(item: Item, key: str, lang: Lang) -> list[Block]:
    """One paper's answer to a section button: its title, then the section (or every section for "all")."""
    sections = [*present_sections(item.brief), SECTION_BY_KEY["links"]] if key == "all" else [SECTION_BY_KEY[key]]
    return [[_paper_title(item)], *(_section_block(s, item, lang) for s in sections)]
