"""`digestbot fulltext ID`: the parsed outline of a paper's full text (sections, figure captions, sizes).

For debugging the parse: it reads the store first (so it shows what the digest used) and fetches otherwise.
"""

from __future__ import annotations

from digest.fulltext.library import FullTexts, ttl_s
from digest.fulltext.model import Entry, NoFullText, pack
from digest.fulltext.ref import DEFAULT_VERSION, parse_paper_ref
from digest.settings import Settings
from digest.store.base import FullTextStore
from digest.text import truncate

CAPTION_CHARS = 160


async def outline_command(settings: Settings, store: FullTextStore | None, paper_ref: str) -> str:
    """The outline for `paper_ref` (`2602.12205`, `2602.12205v2`, an arXiv URL); without a version, v1.

    Raises digest.fulltext.ref.PaperRefError (a ValueError: bad usage) when `paper_ref` is not an arXiv id."""
    paper_id, version = parse_paper_ref(paper_ref)
    async with FullTexts(settings, store) as library:
        lookup = await library.get(paper_id, version or DEFAULT_VERSION)
    return render_outline(lookup.entry, cached=lookup.cached)


def _size(n: int) -> str:
    return f"{n / 1024:,.1f} KB" if n < 2**20 else f"{n / 2**20:,.1f} MB"


def render_outline(entry: Entry, *, cached: bool) -> str:
    origin = "from the store" if cached else "fetched now"
    if isinstance(entry, NoFullText):
        kept = f"remembered for {ttl_s(entry) / 3600:.0f} h" if entry.lasting else "not remembered: try again later"
        return f"{entry.ref}: no full text ({origin}; {kept})\n  {entry.reason}\n"
    lines = [f"{entry.ref} · {entry.source} · {entry.url} ({origin})"]
    if entry.title:
        lines.append(entry.title)
    lines.append(
        f"{len(entry.sections)} sections, {entry.paragraph_count} paragraphs, {len(entry.figures)} figures, "
        f"{len(entry.tables)} tables, {len(entry.passages())} passages"
    )
    cut = " (truncated at a size bound)" if entry.truncated else ""
    lines.append(
        f"size: {_size(entry.fetched_bytes)} fetched, {entry.text_chars:,} characters of text, "
        f"{_size(len(pack(entry)))} stored compressed{cut}"
    )
    if entry.abstract:
        lines.append(f"abstract: {len(entry.abstract):,} characters")
    lines += ["", "Sections"]
    width = max((len(s.number or "") for s in entry.sections), default=0)
    for section in entry.sections:
        indent = "  " * section.level
        number = (section.number or "").ljust(width)
        anchor = f"  #{section.anchor}" if section.anchor else ""
        chars = sum(len(p) for p in section.paragraphs)
        heading = section.heading or "(untitled)"
        lines.append(f"{indent}{number}  {heading}{anchor}  [{len(section.paragraphs)} ¶, {chars:,} chars]")
    if entry.figures:
        lines += ["", "Figures"]
        for position, figure in enumerate(entry.figures, 1):
            image = figure.image_url or "(no image: drawn in SVG on the page)"
            lines.append(f"  Figure {figure.number or position}  {image}")
            if figure.caption:
                lines.append(f"      {truncate(figure.caption, CAPTION_CHARS)}")
    if entry.tables:
        lines += ["", "Tables"]
        for position, table in enumerate(entry.tables, 1):
            lines.append(f"  Table {table.number or position}  {truncate(table.caption, CAPTION_CHARS)}")
    return "\n".join(lines) + "\n"

