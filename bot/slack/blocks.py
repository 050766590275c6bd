"""Block Kit rendering of the neutral Reply and of the morning digest; no Slack calls, no business logic.

Every text from a paper or a user is escaped (`&`, `<`, `>`) before it reaches mrkdwn, so an abstract cannot
ping `<!channel>` or forge a link, and every message stays inside Block Kit's limits.
"""

from __future__ import annotations

from typing import Any

from bot.commands.buttons import encode
from bot.commands.reply import Button, Reply
from bot.commands.texts import text as t
from bot.slack.platform import Slack
from digest.links import permalink
from digest.models import Digest, Item, Lang
from digest.render import header_phrases, highlights_heading, parts_note
from digest.sections import (
    LABELS,
    SECTION_BY_KEY,
    fallback_note,
    has_section,
    meta_fields,
    present_sections,
    section_body,
    section_heading,
)
from digest.text import one_line, truncate

Block = dict[str, Any]
Message = dict[str, Any]  # {"text": fallback for notifications, "blocks": [...]}

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_BUTTON_TEXT = 75
MAX_ACTION_ELEMENTS = 25
MAX_ALT_TEXT = 2000
NEWLINE = "\n"
MAX_FALLBACK_TEXT = 3000  # what notifications and the shorter form show; Slack cuts `text` at 40,000

# The sections a morning-post paper offers: three as buttons, the rest in an overflow menu (2-5 options).
BUTTON_SECTIONS = ("risks", "actions", "dev")
OVERFLOW_SECTIONS = ("points", "uncertainty", "abstract", "links", "tags")
SECTION_ACTION = "paper_section"  # action_id prefix; value: bot.commands.buttons' encoding


def escape(text: str) -> str:
    """Slack's three control characters; everything else (emoji, ZWJ sequences, Korean) passes through."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str, label: str) -> str:
    """`<url|label>` whose URL cannot close the link early and whose label cannot open another."""
    safe_url = url.replace("|", "%7C").replace("<", "%3C").replace(">", "%3E").replace(" ", "%20")
    return f"<{escape(safe_url)}|{escape(one_line(label))}>"


def plain(text: str, limit: int) -> Block:
    """A plain_text object (no mrkdwn parsing, so no escaping needed), cut between graphemes."""
    return {"type": "plain_text", "text": truncate(one_line(text), limit) or " ", "emoji": True}


def mrkdwn_sections(text: str) -> list[Block]:
    """Already-escaped mrkdwn in as many section blocks as it takes, each under 3,000 characters."""
    blocks: list[Block] = []
    chunk = ""
    for line in text.split("\n"):
        while len(line) > MAX_SECTION_TEXT:  # one huge paragraph: cut it between graphemes
            head = truncate(line, MAX_SECTION_TEXT - 1, ellipsis="")
            if chunk:
                blocks.append(_section(chunk))
                chunk = ""
            blocks.append(_section(head))
            line = line[len(head) :].lstrip()
        candidate = f"{chunk}\n{line}" if chunk else line
        if len(candidate) > MAX_SECTION_TEXT:
            blocks.append(_section(chunk))
            candidate = line
        chunk = candidate
    if chunk.strip():
        blocks.append(_section(chunk))
    return blocks


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(*texts: str) -> Block:
    elements = [{"type": "mrkdwn", "text": truncate(t, MAX_SECTION_TEXT)} for t in texts if t]
    return {"type": "context", "elements": elements[:MAX_CONTEXT_ELEMENTS]}


def _bullets(items: list[str]) -> str:
    return "\n".join(f"• {escape(item)}" for item in items)


def fit(blocks: list[Block], fallback_note: str = "…") -> list[Block]:
    """At most 50 blocks: the last kept one says the rest was left out (the thread or a command has it)."""
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    return [*blocks[: MAX_BLOCKS - 1], _context(escape(fallback_note))]


def fallback_text(text: str) -> str:
    return truncate(escape(text), MAX_FALLBACK_TEXT)


# --- the neutral Reply ------------------------------------------------------------------------------------


def reply_to_blocks(reply: Reply) -> Message:
    """A command's Reply as a Slack message: title (linked when it has a URL), parts, links, footer."""
    blocks: list[Block] = []
    lines: list[str] = []  # the plain fallback
    if reply.title:
        title = escape(one_line(reply.title))
        text = f"*{link(reply.title_url, reply.title)}*" if reply.title_url else f"*{title}*"
        if reply.kind == "error":
            text = f":warning: {text}"
        blocks += mrkdwn_sections(text)
        lines.append(reply.title)
    for part in reply.parts:
        body: list[str] = []
        if part.heading:
            body.append(f"*{escape(one_line(part.heading))}*")
            lines.append(part.heading)
        body += [escape(p) for p in part.paragraphs]
        if part.items:
            body.append(_bullets(part.items))
        for entry in part.entries:
            text = link(entry.url, entry.text) if entry.url else escape(one_line(entry.text))
            body.append(f"• {text}{escape(entry.detail.replace(NEWLINE, ' '))}")  # keeps its leading space
        lines += part.paragraphs + [f"• {i}" for i in part.items] + [f"• {e.text}{e.detail}" for e in part.entries]
        if len(body) > (1 if part.heading else 0):
            blocks += mrkdwn_sections("\n".join(body))
        elif body:
            blocks += mrkdwn_sections(body[0])
    if reply.links:
        blocks += mrkdwn_sections(" · ".join(link(lk.url, lk.label) for lk in reply.links))
    if reply.buttons:
        blocks.append(_buttons(reply.buttons))
    if reply.footer:
        blocks.append(_context(escape(reply.footer)))
        lines.append(reply.footer)
    if not blocks:
        blocks = mrkdwn_sections("…")
    return {"text": fallback_text("\n".join(lines) or "…"), "blocks": fit(blocks)}


def _buttons(buttons: list[Button]) -> Block:
    return {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": f"{SECTION_ACTION}:{n}",
                "text": plain(button.label, MAX_BUTTON_TEXT),
                "value": button.action,
            }
            for n, button in enumerate(buttons[:MAX_ACTION_ELEMENTS])
        ],
    }


# --- the morning post -------------------------------------------------------------------------------------


def _meta(item: Item, lang: Lang) -> str:
    """Votes and assessed levels where they exist, then the tags; "" when there is nothing to say."""
    parts = [f"{label} {escape(value)}" for label, value in meta_fields(item, lang)]
    if parts and item.paper.upvotes is not None:
        parts[0] = "👍 " + parts[0]
    if item.brief.tags:
        parts.append("🏷️ " + ", ".join(escape(t) for t in item.brief.tags[:6]))
    return " · ".join(parts)


def section_value(digest: Digest, item: Item, key: str) -> str:
    """The button's value: the paper's id, its digest's day and language, the section (never the rank)."""
    return encode(digest.date, digest.lang, item.paper.id, key) or f"{digest.date}|{digest.lang}|{item.paper.id}|{key}"


def _section_controls(digest: Digest, item: Item) -> Block | None:
    """Buttons for the sections this brief has (no button that would only say a section is missing)."""
    lang = digest.lang

    def option(key: str) -> Block:
        return {
            "text": plain(SECTION_BY_KEY[key].heading(lang), MAX_BUTTON_TEXT),
            "value": section_value(digest, item, key),
        }

    elements: list[Block] = [
        {"type": "button", "action_id": f"{SECTION_ACTION}:{item.rank}:{key}", **option(key)}
        for key in BUTTON_SECTIONS
        if has_section(item.brief, key)
    ]
    more = [(key, option(key)) for key in OVERFLOW_SECTIONS if has_section(item.brief, key)]
    if len(more) >= 2:  # an overflow menu takes 2-5 options
        options = [o for _, o in more]
        elements.append({"type": "overflow", "action_id": f"{SECTION_ACTION}:{item.rank}:more", "options": options})
    else:
        elements += [{"type": "button", "action_id": f"{SECTION_ACTION}:{item.rank}:{k}", **o} for k, o in more]
    return {"type": "actions", "block_id": f"paper-{item.rank}", "elements": elements} if elements else None


def _paper_blocks(digest: Digest, item: Item, public_url: str | None) -> list[Block]:
    """Its link, one-liner and thumbnail, then its meta line and the section buttons."""
    lang, paper = digest.lang, item.paper
    head = f"*{item.rank}. {link(paper.url, paper.title)}*"
    if public_url:
        head += "  " + link(permalink(public_url, digest.date, item.rank, lang=lang), t(lang, "full"))
    one_liner = escape(one_line(item.brief.one_liner))
    section = _section(truncate(f"{head}\n{one_liner}" if one_liner else head, MAX_SECTION_TEXT))
    if paper.thumbnail and paper.thumbnail.startswith("https://") and len(paper.thumbnail) <= MAX_SECTION_TEXT:
        alt = truncate(one_line(paper.title), MAX_ALT_TEXT) or "thumbnail"
        section["accessory"] = {"type": "image", "image_url": paper.thumbnail, "alt_text": alt}
    meta = _meta(item, lang)
    controls = _section_controls(digest, item)
    return [section, *([_context(meta)] if meta else []), *([controls] if controls else [])]


def _title(digest: Digest) -> str:
    """ "Top 5" (no count on a day without papers), or for a chat with topics how many of the five match."""
    lang, view = digest.lang, digest.topic_filter
    if view is not None:
        return t(lang, "post_title_topics", date=digest.date.isoformat(), count=len(digest.items), total=view.total)
    key = "post_title" if digest.items else "post_title_empty"
    return t(lang, key, date=digest.date.isoformat(), count=len(digest.items))


def _highlights(digest: Digest) -> list[Block]:
    """The day's top issues: a headline and keywords per paper, as in the Markdown report."""
    if not digest.highlights:
        return []
    lines = [f"*{escape(highlights_heading(digest.lang))}*"]
    for h in digest.highlights:
        keywords = ", ".join(escape(k) for k in h.keywords)
        lines.append(f"{h.rank}) {escape(h.headline)}" + (f" — {keywords}" if keywords else ""))
    return mrkdwn_sections("\n".join(lines))


def digest_message(digest: Digest, public_url: str | None = None, tz_name: str | None = None) -> Message:
    """The parent message of the morning post: header, when and from what it was made, the top issues, then per
    paper its link, one-liner, thumbnail, meta and buttons, then the day's actions."""
    lang, view = digest.lang, digest.topic_filter
    title = _title(digest)
    head = header_phrases(digest, tz_name)
    blocks: list[Block] = [
        {"type": "header", "text": plain(title, MAX_HEADER_TEXT)},
        _context(escape(f"🕗 {head['generated']}"), escape(head["sources"])),
    ]
    if view is not None:
        topics = t(lang, "post_topics", topics=", ".join(view.topics), cmd=Slack.subscribe_command)
        blocks.append(_context(escape(topics)))
    if digest.notes:
        blocks.append(_context(*(f"⚠️ {escape(n)}" for n in digest.notes)))
    if not digest.items and view is not None and view.total:
        blocks += mrkdwn_sections(escape(t(lang, "post_no_match", total=view.total, topics=", ".join(view.topics))))
    elif not digest.items and not digest.notes:  # the notes already say why the day is empty
        blocks += mrkdwn_sections(escape(t(lang, "post_empty")))
    blocks += _highlights(digest)
    for item in digest.items:
        blocks += [{"type": "divider"}, *_paper_blocks(digest, item, public_url)]
    if digest.daily_actions:
        blocks += [
            {"type": "divider"},
            *mrkdwn_sections(f"*{escape(t(lang, 'post_actions_title'))}*\n{_bullets(digest.daily_actions)}"),
        ]
    if (digest.daily_actions or digest.highlights) and (note := parts_note(digest)) is not None:
        blocks.append(_context(escape(note)))
    if digest.items:
        blocks.append(_context(escape(t(lang, "post_hint_thread"))))
    lines = [title] + [f"{i.rank}. {i.paper.title} — {i.brief.one_liner}".rstrip(" —") for i in digest.items]
    return {"text": fallback_text("\n".join(lines)), "blocks": fit(blocks)}


def brief_message(item: Item, lang: Lang) -> Message:
    """One paper's full brief, posted as a thread reply under the morning post."""
    paper, brief = item.paper, item.brief
    labels = LABELS[lang]
    title = t(lang, "post_brief", rank=item.rank, title=paper.title)
    blocks: list[Block] = [{"type": "header", "text": plain(title, MAX_HEADER_TEXT)}]
    if meta := _meta(item, lang):
        blocks.append(_context(meta))
    if (note := fallback_note(item, lang)) is not None:
        blocks.append(_context(escape(note)))
    if item.checks.unsupported_numbers:
        blocks.append(_context(escape(f"{labels['unsupported']}: " + ", ".join(item.checks.unsupported_numbers))))
    for section in present_sections(brief):
        body = section_body(section, brief)
        text = _bullets(body) if isinstance(body, list) else escape(body)
        blocks += mrkdwn_sections(f"*{escape(section_heading(section, brief, lang))}*\n{text}")
    links = " · ".join(link(url, label) for label, url in paper.links())
    if links:
        blocks += mrkdwn_sections(f"*{escape(SECTION_BY_KEY['links'].heading(lang))}*\n{links}")
    return {"text": fallback_text(f"{title}\n{brief.one_liner}".strip()), "blocks": fit(blocks)}


def short_digest_text(digest: Digest, public_url: str | None = None) -> str:
    """The shorter form when Slack refuses the blocks (msg_too_long, invalid_blocks): mrkdwn text only."""
    lines = [f"*{escape(_title(digest))}*"]
    for item in digest.items:
        lines.append(f"{item.rank}. {link(item.paper.url, truncate(item.paper.title, 150))}")
        lines.append(f"    {escape(truncate(one_line(item.brief.one_liner), 200))}")
    if public_url:
        lines.append(link(permalink(public_url, digest.date, lang=digest.lang), t(digest.lang, "full")))
    return truncate("\n".join(lines), MAX_FALLBACK_TEXT)
