"""Text hygiene shared by every renderer: clean input, and cut only between grapheme clusters."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

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


def shorten(text: str, limit: int, *, ellipsis: str = "…") -> str:
    """Cut `text` to at most `limit` characters at a word boundary (`…Paradigm…`, never `…Paradigm Fo…`); a text
    whose first word alone is too long is cut between grapheme clusters."""
    if len(text) <= limit:
        return text
    head = text[: limit - len(ellipsis) + 1]
    cut = head.rfind(" ")
    if cut <= 0:
        return truncate(text, limit, ellipsis=ellipsis)
    return head[:cut].rstrip(" ,;:-–—") + ellipsis


def utf16_len(text: str) -> int:
    """UTF-16 code units (some chat APIs count in them); a lone surrogate counts as the one unit it is, never an error."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def valid_unicode(text: str) -> str:
    """`text` with surrogate pairs joined and lone surrogates replaced (U+FFFD): text UTF-8 and UTF-16 can encode."""
    if text.isascii():
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def sentences(text: str) -> list[str]:
    """Split English prose into sentences; good enough for abstracts (no abbreviations split on 'e.g.')."""
    parts = regex.split(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])(?<!\be\.g\.\s)(?<!\bi\.e\.\s)", one_line(text))
    return [p.strip() for p in parts if p.strip()]


def split_text(text: str, limit: int, *, first: int | None = None, measure: str = "utf16") -> list[str]:
    """Cut `text` into pieces of at most `limit` units (the first at most `first`), after whitespace where
    possible, else between grapheme clusters; never inside a cluster (ZWJ emoji, flags, surrogate pairs).

    Joined back together the pieces give `text` exactly. A single cluster longer than `limit` (only
    pathological combining runs) is cut by code points as the last resort.
    """
    size = utf16_len if measure == "utf16" else len
    pieces: list[str] = []
    budget = limit if first is None else first
    current: list[str] = []
    used = 0
    last_space = -1  # index in `current` just after the last whitespace cluster
    for cluster in graphemes(text):
        cost = size(cluster)
        if used + cost > budget and current:
            cut = last_space if last_space > 0 else len(current)
            pieces.append("".join(current[:cut]))
            current = current[cut:]
            used = sum(size(c) for c in current)
            last_space = -1
            budget = limit
        while cost > budget:  # one cluster longer than a whole piece
            head, cluster = _cut_code_points(cluster, budget, size)
            pieces.append(head)
            cost = size(cluster)
        if used + cost > budget:  # the kept tail plus this cluster still does not fit
            pieces.append("".join(current))
            current, used = [], 0
            budget = limit
        current.append(cluster)
        used += cost
        if cluster.isspace():
            last_space = len(current)
    if current:
        pieces.append("".join(current))
    return pieces


def _cut_code_points(cluster: str, budget: int, size: Callable[[str], int]) -> tuple[str, str]:
    n = 0
    while n < len(cluster) and size(cluster[: n + 1]) <= budget:
        n += 1
    n = max(n, 1)
    return cluster[:n], cluster[n:]
