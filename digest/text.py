"""Text hygiene shared by every renderer: clean input, and cut only between grapheme clusters."""

from __future__ import annotations

import unicodedata

import regex

_GRAPHEME = regex.compile(r"\X")
# C0/C1 controls except tab and newline, lone surrogates, U+FFFD, and the BOM.
_UNWANTED = regex.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffd\ufeff]|\p{Cs}")
_SPACES = regex.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")


def clean(text: str | None) -> str:
    """NFC, no replacement characters, no controls, no lone surrogates; keeps ZWJ sequences intact."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text)
    text = _UNWANTED.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return text.strip()


def one_line(text: str | None) -> str:
    """Collapse a field that must fit on one line (titles, list items)."""
    return _SPACES.sub(" ", clean(text).replace("\n", " ")).strip()


def graphemes(text: str) -> list[str]:
    return _GRAPHEME.findall(text)


def truncate(text: str, limit: int, *, ellipsis: str = "…", measure: str = "chars") -> str:
    """Cut `text` to at most `limit` units (code points, or UTF-16 units), never inside a grapheme cluster."""
    size = utf16_len if measure == "utf16" else len
    if size(text) <= limit:
        return text
    budget = limit - size(ellipsis)
    out: list[str] = []
    used = 0
    for cluster in graphemes(text):
        cost = size(cluster)
        if used + cost > budget:
            break
        out.append(cluster)
        used += cost
    return "".join(out).rstrip() + ellipsis


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def sentences(text: str) -> list[str]:
    """Split English prose into sentences; good enough for abstracts (no abbreviations split on 'e.g.')."""
    parts = regex.split(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])(?<!\be\.g\.\s)(?<!\bi\.e\.\s)", one_line(text))
    return [p.strip() for p in parts if p.strip()]
