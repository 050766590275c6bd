"""A paper's PDF -> FullText, with pypdf's text extraction (the fallback when arXiv has no HTML rendering).

A PDF has no markup for sections: headings are recognised as short lines such as "3.2 Training Details",
paragraphs end at a line that ends a sentence and stops short of the column. Figures are not taken from a
PDF (their images are not addressable by URL). The references are dropped, up to an appendix after them.
"""

from __future__ import annotations

import io
import logging
import re
import statistics

from pypdf import PdfReader

from digest.fulltext.html import MAX_PARAGRAPH_CHARS, MAX_SECTIONS, MAX_TEXT_CHARS
from digest.fulltext.model import FullText, Section
from digest.text import clean, one_line

log = logging.getLogger(__name__)

MAX_PAGES = 120  # a 60-page paper with appendices fits; a 2,000-page "paper" stops here (and says so)

_NUMBERED = re.compile(r"^(?P<number>(?:\d{1,2}|[A-H])(?:\.\d{1,2}){0,2})\.?\s+(?P<heading>[A-Z][^\n]{1,80})$")
_UNNUMBERED = re.compile(
    r"^(abstract|introduction|related work|background|method(?:s|ology)?|experiments?|results|discussion|"
    r"conclusions?|limitations|acknowledge?ments?|references|bibliography|appendix)$",
    re.IGNORECASE,
)
_REFERENCES = re.compile(r"^(references|bibliography)$", re.IGNORECASE)
_APPENDIX = re.compile(r"^(appendix|appendices)\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?:]['\")\]]?$")
_HYPHENATED = re.compile(r"(?<=[a-z])-$")


def parse_pdf(
    body: bytes, *, page_url: str, paper_id: str, version: int, truncated: bool = False
) -> FullText | None:
    """The paper in this PDF; None when it is not a PDF or has no text (a scan, an encrypted or broken file)."""
    if not body.lstrip()[:1024].startswith(b"%PDF-"):
        return None
    try:
        reader = PdfReader(io.BytesIO(body), strict=False)
        if reader.is_encrypted:
            return None
        pages = reader.pages
        count = len(pages)
    except Exception as exc:  # pypdf raises many kinds on a broken file; none of them may end the build
        log.info("%s v%d: unreadable PDF (%s)", paper_id, version, type(exc).__name__)
        return None
    lines: list[str] = []
    size = 0
    for index in range(min(count, MAX_PAGES)):
        try:
            text = pages[index].extract_text() or ""
        except Exception as exc:  # one bad page (a broken content stream) does not lose the others
            log.info("%s v%d: page %d unreadable (%s)", paper_id, version, index + 1, type(exc).__name__)
            continue
        text = clean(text)
        size += len(text)
        lines.extend(line.strip() for line in text.split("\n"))
        if size > MAX_TEXT_CHARS:
            truncated = True
            break
    truncated = truncated or count > MAX_PAGES
    title = _title(reader, lines)
    abstract, sections, cut = _structure(lines)
    if not abstract and not any(s.paragraphs for s in sections):
        return None
    return FullText(
        paper_id=paper_id,
        version=version,
        source="pdf",
        url=page_url,
        title=title,
        abstract=abstract,
        sections=sections,
        fetched_bytes=len(body),
        truncated=truncated or cut,
    )


def _title(reader: PdfReader, lines: list[str]) -> str:
    try:
        meta = reader.metadata
        title = one_line(meta.title) if meta is not None and meta.title else ""
    except Exception:  # a broken info dictionary
        title = ""
    if len(title) >= 8:
        return title[:500]
    return next((one_line(line)[:500] for line in lines if len(line) >= 8), "")


def _heading(line: str) -> tuple[str | None, str] | None:
    if len(line) > 90 or _SENTENCE_END.search(line):
        return None
    if _UNNUMBERED.match(line):
        return None, line
    match = _NUMBERED.match(line)
    if match is None:
        return None
    heading = match["heading"].strip()
    words = heading.split()
    digits = sum(ch.isdigit() for ch in heading)
    if len(words) > 12 or digits > len(heading) // 5:  # a table row ("1 Baseline 45.2 61.0"), not a heading
        return None
    return match["number"], heading


def _structure(lines: list[str]) -> tuple[str, list[Section], bool]:
    """(abstract, sections, cut) from the page lines; `cut`: a bound left text out."""
    widths = [len(line) for line in lines if len(line) > 20]
    full = statistics.median(widths) if widths else 60
    sections: list[Section] = []
    current: Section | None = None
    abstract: list[str] = []
    in_abstract = False
    in_references = False
    buffer: list[str] = []
    budget = MAX_TEXT_CHARS
    cut = False

    def flush() -> None:
        nonlocal budget, cut
        if not buffer:
            return
        text = one_line(_join(buffer))
        buffer.clear()
        if not text or in_references:
            return
        if in_abstract:
            abstract.append(text)
            return
        if current is None or budget <= 0:
            cut = cut or budget <= 0
            return
        if len(text) > MAX_PARAGRAPH_CHARS:
            text, cut = text[:MAX_PARAGRAPH_CHARS], True
        budget -= len(text)
        current.paragraphs.append(text)

    for line in lines:
        if not line:
            flush()
            continue
        found = _heading(line)
        if found is not None:
            flush()
            number, heading = found
            in_abstract = heading.lower() == "abstract"
            if in_abstract:
                continue
            if _REFERENCES.match(heading):
                in_references = True
                continue
            if in_references and not (_APPENDIX.match(heading) or (number and number[0].isalpha())):
                continue
            in_references = False
            if len(sections) >= MAX_SECTIONS:
                cut = True
                break
            current = Section(number=number, heading=heading, level=1 + (number or "").count("."))
            sections.append(current)
            continue
        buffer.append(line)
        if _SENTENCE_END.search(line) and len(line) < 0.8 * full:
            flush()
    flush()
    return " ".join(abstract), [s for s in sections if s.paragraphs], cut


def _join(lines: list[str]) -> str:
    """Lines of one paragraph joined; a word hyphenated across a line break is put back together."""
    out = ""
    for line in lines:
        if out.endswith("-") and _HYPHENATED.search(out) and line[:1].islower():
            out = out[:-1] + line
        else:
            out = f"{out} {line}" if out else line
    return out
