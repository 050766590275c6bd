"""A command's Reply as Telegram messages in HTML parse mode: escaped, and split to fit 4,096 UTF-16 units.

Every text is html.escape'd (Telegram's HTML mode knows &lt; &gt; &amp; &quot;); tags are opened and closed
within one line, so splitting between lines can never cut a tag; a single line longer than a message is cut
between grapheme clusters (never inside an entity, a surrogate pair or a ZWJ emoji) and continues in the next.
"""

from __future__ import annotations

import html

from bot.commands.reply import Reply
from digest.text import graphemes, utf16_len

MAX_MESSAGE = 4096  # Telegram counts UTF-16 code units after entity parsing; counting the markup too is safe


def esc(text: str) -> str:
    return html.escape(text, quote=False)


def link(url: str, label: str) -> str:
    return f'<a href="{html.escape(url, quote=True)}">{esc(label)}</a>'


def _pieces(raw: str, limit: int, wrap: tuple[str, str] = ("", "")) -> list[str]:
    """`raw` escaped and wrapped (e.g. in <b>..</b>), in pieces of at most `limit` units, cut between graphemes."""
    overhead = utf16_len(wrap[0] + wrap[1])
    pieces: list[str] = []
    current, used = "", overhead
    for cluster in graphemes(raw):
        escaped = esc(cluster)
        cost = utf16_len(escaped)
        if used + cost > limit and current:
            pieces.append(wrap[0] + current + wrap[1])
            current, used = "", overhead
        current += escaped
        used += cost
    pieces.append(wrap[0] + current + wrap[1])
    return pieces


def _lines(reply: Reply, limit: int) -> list[str]:
    """Each finished HTML line; "" marks a paragraph break."""
    lines: list[str] = []
    if reply.title:
        title = link(reply.title_url, reply.title) if reply.title_url else esc(reply.title)
        lines += [f"<b>{title}</b>"] if utf16_len(title) + 7 <= limit else _pieces(reply.title, limit, ("<b>", "</b>"))
        lines.append("")
    for part in reply.parts:
        if part.heading:
            lines += _pieces(part.heading, limit, ("<b>", "</b>"))
        for paragraph in part.paragraphs:
            for line in paragraph.split("\n"):
                lines += _pieces(line, limit)
        for item in part.items:
            lines += _pieces(f"• {item}", limit)
        lines.append("")
    for lk in reply.links:
        rendered = link(lk.url, lk.label)
        lines += [rendered] if utf16_len(rendered) <= limit else _pieces(f"{lk.label}: {lk.url}", limit)
    if reply.links:
        lines.append("")
    if reply.footer:
        lines += _pieces(reply.footer, limit, ("<i>", "</i>"))
    return lines


def reply_to_messages(reply: Reply, limit: int = MAX_MESSAGE) -> list[str]:
    """The messages to send, in order, each at most `limit` UTF-16 units; never an empty list or message."""
    messages: list[str] = []
    current = ""
    for line in _lines(reply, limit):
        candidate = f"{current}\n{line}" if current else line
        if utf16_len(candidate) <= limit:
            current = candidate
        else:
            messages.append(current.strip("\n"))
            current = line
    messages.append(current.strip("\n"))
    return [m for m in messages if m.strip()] or ["…"]
