"""A Reply as plain text: what `digestbot ask --platform plain` and `digestbot shell` print."""

from __future__ import annotations

from bot.commands.reply import Reply


def reply_to_text(reply: Reply) -> str:
    """Title, then each part (heading, paragraphs, "- " items, entries with their URL on the next line), links as
    "label: url", then the footer."""
    blocks: list[str] = []
    if reply.title:
        blocks.append(reply.title + (f"\n{reply.title_url}" if reply.title_url else ""))
    for part in reply.parts:
        lines = [part.heading] if part.heading else []
        lines += part.paragraphs
        lines += [f"- {item}" for item in part.items]
        for entry in part.entries:
            lines.append(f"- {entry.text}{entry.detail}")
            lines += [f"  {entry.url}"] if entry.url else []
        if lines:
            blocks.append("\n".join(lines))
    if reply.links:
        blocks.append("\n".join(f"{link.label}: {link.url}" for link in reply.links))
    if reply.footer:
        blocks.append(reply.footer)
    return "\n\n".join(blocks)
