"""Finding URLs in text: the one place that knows where a URL starts and ends.

A URL runs over printable ASCII only, so it never swallows Hangul or other text glued to it
(`https://github.com/a/b를`); it never keeps a closing bracket it did not open (`(https://x.org/a)` or
`[label](https://x.org/a)` end before the `)`, while `https://en.wikipedia.org/wiki/C_(language)` keeps its own
pair); and it never ends in sentence punctuation (`see https://x.org/a.`). Used by the foreign-link scrub, the
figure check (which skips URLs) and the sources that read links out of free text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

# A scheme (or a bare www.), then printable ASCII that is neither space, quote, angle bracket nor backtick.
_CANDIDATE = re.compile(r"(?:https?://|www\.)[!#-&(-;=?-_a-z|~]+", re.IGNORECASE)
_HAS_HOST = re.compile(r"(?:https?://|www\.)[a-z0-9]", re.IGNORECASE)
_TRAILING_PUNCTUATION = ".,;:!?*"
_PAIRS = {")": "(", "]": "[", "}": "{"}
# A Markdown link `[label](url)` or an autolink `<url>` around a URL: scrubbing a foreign URL keeps only the label.
_MARKDOWN_LINK = re.compile(r"\[([^\[\]\n]*)\]\(\s*$")


@dataclass(frozen=True)
class Found:
    url: str
    start: int
    end: int


def _trim(candidate: str) -> str:
    """Drop trailing punctuation and closing brackets the URL itself did not open."""
    while candidate:
        last = candidate[-1]
        if last in _TRAILING_PUNCTUATION or (last in _PAIRS and candidate.count(last) > candidate.count(_PAIRS[last])):
            candidate = candidate[:-1]
        else:
            break
    return candidate


def find_urls(text: str) -> Iterator[Found]:
    """Every URL in `text` with its exact span, in order."""
    for match in _CANDIDATE.finditer(text):
        url = _trim(match.group(0))
        if _HAS_HOST.match(url):
            yield Found(url, match.start(), match.start() + len(url))


def urls(text: str) -> list[str]:
    return [found.url for found in find_urls(text)]


def without_urls(text: str, replacement: str = " ") -> str:
    """`text` with every URL replaced (the figure check must not read `2602.12205` in a link as a figure)."""
    out, last = [], 0
    for found in find_urls(text):
        out += [text[last : found.start], replacement]
        last = found.end
    return "".join(out) + text[last:]


def _normalise(url: str) -> str:
    return url.rstrip("/").lower()


def scrub_urls(text: str, allowed: set[str] | frozenset[str]) -> str:
    """Remove every URL that is not in `allowed`, with what only made sense around it.

    `[label](foreign)` keeps the label; `(foreign)` and `<foreign>` go with their brackets; a bare foreign URL
    goes with the space before it. Nothing is left that reads like a cut: no `( `, no `()`, no double space."""
    keep = {_normalise(u) for u in allowed}
    if all(_normalise(found.url) in keep for found in find_urls(text)):
        return text
    out: list[str] = []
    last = 0
    for found in find_urls(text):
        if _normalise(found.url) in keep:
            continue
        before = text[last : found.start]
        after_start = found.end
        markdown = _MARKDOWN_LINK.search(before)
        closing = text[after_start : after_start + 1]
        if markdown and closing == ")":
            before = before[: markdown.start()] + markdown.group(1)
            after_start += 1
        elif (before.endswith("(") and closing == ")") or (before.endswith("<") and closing == ">"):
            before = before[:-1].rstrip(" ")
            after_start += 1
        else:
            before = before.rstrip(" ")
            if not before or before.endswith(("(", "[", "\n")):
                after_start = _skip_spaces(text, after_start)
        out.append(before)
        last = after_start
    out.append(text[last:])
    return _tidy("".join(out))


def _skip_spaces(text: str, at: int) -> int:
    while at < len(text) and text[at] == " ":
        at += 1
    return at


_SPACE_BEFORE_PUNCTUATION = re.compile(r" +(?=[.,;:!?)\]])")
_EMPTY_BRACKETS = re.compile(r"\(\s*\)|\[\s*\]")
_OPEN_SPACE = re.compile(r"([(\[]) +")
_DOUBLE_SPACE = re.compile(r"(?<=\S) {2,}(?=\S)")


def _tidy(text: str) -> str:
    text = _EMPTY_BRACKETS.sub("", text)
    text = _OPEN_SPACE.sub(r"\1", text)
    text = _SPACE_BEFORE_PUNCTUATION.sub("", text)
    return _DOUBLE_SPACE.sub(" ", text).strip().lstrip(",;: ")
