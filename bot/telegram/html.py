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
from bot.commands.texts import text
from bot.telegram.platform import Telegram
from digest.links import permalink
from digest.models import Digest, Item, Lang
from digest.render import actions_heading, header_phrases, highlights_heading, parts_note
from digest.sections import (
    LABELS,
    SECTION_BY_KEY,
    Section,
    fallback_note,
    has_section,
    meta_fields,
    section_body,
    section_heading,
)
from digest.text import one_line, split_text, utf16_len

MESSAGE_LIMIT = 4096  # UTF-16 code units of text after entity parsing
CAPTION_LIMIT = 1024
BLOCK_SEP = "\n\n"
LINE_SEP = "\n"


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


def hashtag(tag: str) -> str | None:
    """A tag as a hashtag Telegram links whole: letters, digits and underscores only (`Self-Evolution` ->
    `#Self_Evolution`, `On-Policy RL` -> `#On_Policy_RL`); None when nothing of it can be one (all digits)."""
    body = re.sub(r"[\W_]+", "_", one_line(tag)).strip("_")
    return f"#{body}" if body and not body.replace("_", "").isdigit() else None


def header_blocks(digest: Digest, tz_name: str = "Asia/Seoul") -> list[Block]:
    """The morning post's first message: title, time and sources, notes, top issues, the papers, the actions."""
    lang = digest.lang
    head = header_phrases(digest, tz_name)
    key = "post_title" if digest.items else "post_title_empty"
    title = text(lang, key, date=digest.date.isoformat(), count=len(digest.items))
    view = digest.topic_filter
    if view is not None:
        title = text(lang, "post_title_topics", date=digest.date.isoformat(), count=len(digest.items), total=view.total)
    top: Block = [[b(title)], [i(f"{head['generated']} · {head['sources']}")]]
    if digest.papers_day:
        top.append([Span("ℹ️ " + text(lang, "post_papers_day", day=digest.papers_day.isoformat()))])
    top += [[Span(f"⚠️ {one_line(note)}")] for note in digest.notes]
    if view is not None:
        top.append([Span(text(lang, "post_topics", topics=", ".join(view.topics), cmd=Telegram.subscribe_command))])
    blocks = [top]
    if digest.highlights:
        issues: Block = [[b(highlights_heading(lang))]]
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
        index = [[Span(text(lang, "post_no_match", total=view.total, topics=", ".join(view.topics)))]]
    if index or not digest.notes:  # an empty day's notes already say why
        blocks.append(index or [[Span(text(lang, "post_empty"))]])
    if digest.daily_actions:
        actions: Block = [[b(actions_heading(digest))]]
        actions += [[Span(f"{n}) {one_line(a)}")] for n, a in enumerate(digest.daily_actions, 1)]
        blocks.append(actions)
    if (digest.daily_actions or digest.highlights) and (note := parts_note(digest)) is not None:
        blocks.append([[i(note)]])
    if digest.items:
        blocks.append([[i(text(lang, "post_hint_buttons"))]])
    return blocks


def _paper_title(item: Item) -> Line:
    return [b(f"{item.rank}. "), link(item.paper.title, item.paper.url, "b")]


def _section_block(section: Section, item: Item, lang: Lang) -> Block:
    if section.key == "links":
        block: Block = [[b(section.heading(lang))]]
        return block + [[Span("• "), link(label, url)] for label, url in item.paper.links()]
    body = section_body(section, item.brief)
    block = [[b(section_heading(section, item.brief, lang))]]
    return block + (_bullets(body) if isinstance(body, list) else _paragraph_lines(body))


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
    if public_url:
        links += [Span(" · "), link(text(lang, "full"), permalink(public_url, day, item.rank, lang=lang), "b")]
    blocks.append([links])
    return blocks
