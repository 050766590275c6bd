"""A paper's full text as parsed from arXiv (HTML or PDF), the passages derived from it, and its stored form."""

from __future__ import annotations

import math
import re
import zlib
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from digest.models import Figure
from digest.text import sentences

# Bump when the parse changes what a FullText holds: stored bodies of another version read as a miss, and the
# paper is fetched and parsed again (a cache needs no upgrade path).
SCHEMA_VERSION = 1

# A stored body never inflates past this (a corrupted or hostile value cannot blow up memory on read).
MAX_UNPACKED_BYTES = 32 * 2**20
PASSAGE_MAX_CHARS = 1500  # longer paragraphs become several passages, cut between sentences
CHARS_PER_TOKEN = 4  # the budget estimate for English prose (about 4 characters per token for GPT tokenizers)

_INTRO = re.compile(r"^(introduction|overview|motivation)\b", re.IGNORECASE)
_CONCLUSION = re.compile(
    r"^(conclusions?|concluding remarks|discussion|summary|limitations?|conclusion and future work)\b", re.IGNORECASE
)


class Section(BaseModel):
    number: str | None = None  # "3", "3.1", "A"
    heading: str = ""
    anchor: str | None = None  # the section's id on the HTML page ("S3", "S3.SS1"); None for a PDF
    level: int = 1  # 1 section, 2 subsection, 3 subsubsection
    paragraphs: list[str] = Field(default_factory=list)

    @property
    def title(self) -> str:
        """"3.1 Training data", or the heading alone."""
        return f"{self.number} {self.heading}".strip() if self.number else self.heading


class Table(BaseModel):
    number: str | None = None
    caption: str = ""
    anchor: str | None = None
    text: str = ""  # the cells, row by row ("a | b | c"), bounded


class Passage(BaseModel):
    """A unit of retrieval: one paragraph (or a piece of a long one), the abstract, or a table.

    `id` is stable for a given (paper id, version) and parser schema: it is derived from the section's anchor (or
    its position) and the paragraph's position, never from a counter shared across papers."""

    id: str
    section_number: str | None = None
    section_heading: str = ""
    anchor: str | None = None
    text: str


class FullText(BaseModel):
    kind: Literal["fulltext"] = "fulltext"
    schema_version: int = SCHEMA_VERSION
    paper_id: str
    version: int
    source: Literal["html", "pdf"]
    url: str  # the page or file it was parsed from
    title: str = ""
    abstract: str = ""
    sections: list[Section] = Field(default_factory=list)
    figures: list[Figure] = Field(default_factory=list)  # every figure; those drawn in SVG have no image_url
    tables: list[Table] = Field(default_factory=list)
    fetched_bytes: int = 0
    truncated: bool = False  # a size cap cut the body or the text: what is here is the start of the paper
    fetched_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @property
    def ref(self) -> str:
        return f"{self.paper_id}v{self.version}"

    @property
    def paragraph_count(self) -> int:
        return sum(len(s.paragraphs) for s in self.sections)

    @property
    def text_chars(self) -> int:
        return len(self.abstract) + sum(len(p) for s in self.sections for p in s.paragraphs)

    def link(self, anchor: str | None) -> str | None:
        """A link to a section or figure on the HTML page; None for a PDF or without an anchor."""
        return f"{self.url}#{anchor}" if anchor and self.source == "html" else None

    def passages(self, max_chars: int = PASSAGE_MAX_CHARS) -> list[Passage]:
        out: list[Passage] = []
        seen: set[str] = set()

        def add(pid: str, section: Section | None, text: str, anchor: str | None) -> None:
            base, n = pid, 2
            while pid in seen:  # hostile pages may repeat anchors
                pid, n = f"{base}~{n}", n + 1
            seen.add(pid)
            number, heading = (section.number, section.heading) if section else (None, "Abstract")
            out.append(Passage(id=pid, section_number=number, section_heading=heading, anchor=anchor, text=text))

        if self.abstract:
            for n, piece in enumerate(_pieces(self.abstract, max_chars), 1):
                add("abs" if n == 1 else f"abs-{n}", None, piece, None)
        for index, section in enumerate(self.sections, 1):
            key = section.anchor or f"s{index}"
            for p, paragraph in enumerate(section.paragraphs, 1):
                for n, piece in enumerate(_pieces(paragraph, max_chars), 1):
                    add(f"{key}.p{p}" if n == 1 else f"{key}.p{p}-{n}", section, piece, section.anchor)
        for index, figure in enumerate(self.figures, 1):
            if figure.caption:
                label = f"Figure {figure.number or index}"
                add(figure.anchor or f"f{index}", Section(heading=label), figure.caption[:max_chars], figure.anchor)
        for index, table in enumerate(self.tables, 1):
            text = " ".join(t for t in (table.caption, table.text) if t)
            if text:
                label = f"Table {table.number or index}"
                add(table.anchor or f"t{index}", Section(heading=label), text[: max_chars * 2], table.anchor)
        return out

    def grounding(self, budget_tokens: int = 1200) -> str:
        """The introduction and the conclusion, trimmed to about `budget_tokens` (CHARS_PER_TOKEN), for a prompt.

        The introduction gets up to 60% of the budget and the conclusion the rest (either takes what the other
        leaves). Empty when the paper has neither (then the abstract is all there is)."""
        intro = next((s for s in self.sections if s.level == 1 and _INTRO.match(s.heading)), None)
        intro = intro or next((s for s in self.sections if s.level == 1 and s.paragraphs), None)
        ending = next(
            (s for s in reversed(self.sections) if s.level == 1 and _CONCLUSION.match(s.heading) and s is not intro),
            None,
        )
        budget = budget_tokens * CHARS_PER_TOKEN
        parts = [s for s in (intro, ending) if s is not None and s.paragraphs]
        if not parts:
            return ""
        sizes = [len(_section_text(s)) + len(s.title) + 4 for s in parts]
        shares = [budget] if len(parts) == 1 else _split_budget(budget, sizes, first_share=0.6)
        blocks = [
            f"## {s.title}\n{_trim(_section_text(s), share - len(s.title) - 4)}"
            for s, share in zip(parts, shares, strict=True)
        ]
        return "\n\n".join(blocks)


class NoFullText(BaseModel):
    """Neither an HTML page nor a readable PDF: remembered (lasting) so a rebuild does not ask arXiv again.

    A transient failure (timeouts, 5xx, arXiv unreachable) is not lasting and is never stored."""

    kind: Literal["none"] = "none"
    schema_version: int = SCHEMA_VERSION
    paper_id: str
    version: int
    reason: str
    lasting: bool = True
    checked_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @property
    def ref(self) -> str:
        return f"{self.paper_id}v{self.version}"


Entry = FullText | NoFullText
_ENTRY: TypeAdapter[FullText | NoFullText] = TypeAdapter(Annotated[FullText | NoFullText, Field(discriminator="kind")])


def pack(entry: Entry) -> bytes:
    """The stored form: the JSON, zlib-compressed (a parsed paper of 60 pages is about 60 KB of it)."""
    return zlib.compress(entry.model_dump_json().encode("utf-8"), 6)


def unpack(body: bytes) -> Entry | None:
    """The entry, or None for a body that is corrupt, too large, or of another schema version (a cache miss)."""
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(body, MAX_UNPACKED_BYTES)
        if inflater.unconsumed_tail:
            return None
        entry = _ENTRY.validate_json(raw)
    except (zlib.error, ValidationError, ValueError):
        return None
    return entry if entry.schema_version == SCHEMA_VERSION else None


def approx_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def _section_text(section: Section) -> str:
    return "\n\n".join(section.paragraphs)


def _split_budget(budget: int, sizes: list[int], *, first_share: float) -> list[int]:
    first = min(sizes[0], int(budget * first_share))
    second = min(sizes[1], budget - first)
    first = min(sizes[0], budget - second)  # what the second did not need goes back to the first
    return [first, second]


def _trim(text: str, limit: int) -> str:
    """At most `limit` characters, cut after a sentence when one ends in the last third, else after a word."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return ""
    head = text[: limit - 1]
    stop = max(head.rfind(". "), head.rfind(".\n"))
    if stop >= limit * 2 // 3:
        return head[: stop + 1]
    space = head.rfind(" ")
    return (head[:space] if space > 0 else head).rstrip() + "…"


def _pieces(text: str, max_chars: int) -> list[str]:
    """`text` in pieces of at most about `max_chars`, cut between sentences (a sentence longer than that is cut)."""
    if len(text) <= max_chars:
        return [text]
    pieces: list[str] = []
    current = ""
    for sentence in sentences(text) or [text]:
        while len(sentence) > max_chars:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(sentence[:max_chars])
            sentence = sentence[max_chars:].lstrip()
        if current and len(current) + 1 + len(sentence) > max_chars:
            pieces.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}".strip()
    if current:
        pieces.append(current)
    return pieces
