"""Faithfulness: every figure a model wrote must be found in the abstracts; links come from metadata only.

Applied to every model-written text of a digest: the briefs (new or cached, from this deployment's model or the
reference digest) and the digest-level parts (top-issue keywords, the day's actions). Text extracted as it is
from the abstract or metadata is not checked: it is the source itself.

Numbers are compared by value after normalisation, so "32B", "32 billion" and "320억" are the same figure,
"+10.1%" matches "10.1%", and "4가지" matches "four". Digits fused to letters (Qwen3, GPT-4o, IT2VA) are
part of a name, not a figure, and are not checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

import regex

from digest.models import Brief, Checks, Level, Paper
from digest.urls import scrub_urls, without_urls

if TYPE_CHECKING:
    from digest.summarize import DigestParts

# A figure: digits (thousands separators, decimals) not glued to a preceding letter/digit/dot/caret, with an
# optional magnitude or unit. What follows may be Korean (particles, counters) but not a Latin letter or digit,
# which would make it part of a name such as GPT-4o. List markers like "(1)" are not figures.
_NUMBER = regex.compile(
    r"(?<![\p{Latin}\p{Greek}\d.,^_])"
    r"(?P<digits>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?:\s?(?P<word>billion|million|thousand|trillion)\b"
    r"|(?P<unit>%p|%|hrs|hr|[KkMBT](?![\p{Latin}\d])|[x×배]|[십백천]?[억만]|[조천백]))?"
    r"(?![\p{Latin}\d])",
    regex.IGNORECASE,
)
_SCALE = {
    "k": 10**3,
    "thousand": 10**3,
    "백": 10**2,
    "천": 10**3,
    "만": 10**4,
    "십만": 10**5,
    "백만": 10**6,
    "천만": 10**7,
    "m": 10**6,
    "million": 10**6,
    "억": 10**8,
    "십억": 10**9,
    "백억": 10**10,
    "천억": 10**11,
    "b": 10**9,
    "billion": 10**9,
    "t": 10**12,
    "trillion": 10**12,
    "조": 10**12,
}
_WORDS = {
    w: n
    for n, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
}
_WORD = re.compile(r"\b(" + "|".join(_WORDS) + r")\b", re.IGNORECASE)
_LOWER: dict[Level, Level] = {"상": "중", "중": "하", "하": "하"}


@dataclass(frozen=True)
class Figure:
    text: str  # as written, e.g. "320억"
    value: Decimal  # normalised, e.g. 32000000000


def figures(text: str, *, words: bool = False) -> list[Figure]:
    """The figures written in `text` (URLs skipped); with `words`, spelled-out English counts too."""
    text = without_urls(text)
    out: list[Figure] = []
    for m in _NUMBER.finditer(text):
        if text[m.start() - 1 : m.start()] == "(" and text[m.end() : m.end() + 1] == ")" and len(m[0]) <= 2:
            continue  # a list marker "(1)"
        try:
            value = Decimal(m["digits"].replace(",", ""))
        except InvalidOperation:  # pragma: no cover - the pattern only matches digits
            continue
        scale = (m["word"] or m["unit"] or "").lower()
        out.append(Figure(m.group(0).strip(), value * _SCALE.get(scale, 1)))
    if words:
        out += [Figure(m.group(0), Decimal(_WORDS[m.group(1).lower()])) for m in _WORD.finditer(text)]
    return out


def brief_texts(brief: Brief) -> list[str]:
    """Every piece of model-written text in a brief (none for a brief extracted as it is)."""
    return brief.model_written()


def _supported(abstracts: Iterable[str]) -> set[Decimal]:
    return {f.value.normalize() for abstract in abstracts for f in figures(abstract, words=True)}


def _unsupported(texts: Iterable[str], known: set[Decimal]) -> list[str]:
    out: list[str] = []
    for text in texts:
        for figure in figures(text):
            if figure.value.normalize() not in known and figure.text not in out:
                out.append(figure.text)
    return out


def unsupported_numbers(brief: Brief, abstract: str) -> list[str]:
    """Figures of the brief whose value is not in the abstract, each once, in order of appearance."""
    return _unsupported(brief_texts(brief), _supported([abstract]))


def lower(level: Level) -> Level:
    """One level less confident: 상 -> 중 -> 하."""
    return _LOWER[level]


def scrub_brief(brief: Brief, paper: Paper) -> Brief:
    """Remove any URL the model wrote that is not one of the paper's own links (metadata is the only source)."""
    allowed = {link for _, link in paper.links()}
    data = brief.model_dump()
    for name, origin in brief.provenance.items():
        if origin == "extracted":
            continue
        value = data[name]
        data[name] = [scrub_urls(v, allowed) for v in value] if isinstance(value, list) else scrub_urls(value, allowed)
    return Brief.model_validate(data)


def check_brief(brief: Brief, paper: Paper) -> tuple[Brief, Checks]:
    """The brief with foreign links removed, and its unsupported figures (which lower an assessed confidence)."""
    brief = scrub_brief(brief, paper)
    numbers = unsupported_numbers(brief, paper.abstract)
    if numbers and brief.confidence is not None:
        brief = brief.model_copy(update={"confidence": lower(brief.confidence)})
    return brief, Checks(unsupported_numbers=numbers)


def check_parts(parts: DigestParts, papers: list[Paper]) -> DigestParts:
    """Model-written top issues and actions, checked like briefs against every paper of the digest: links
    that are no paper's own are removed, and figures no abstract has are listed on `parts.source.checks`."""
    allowed = {link for paper in papers for _, link in paper.links()}
    highlights = [
        h.model_copy(update={"keywords": [k for k in (scrub_urls(k, allowed) for k in h.keywords) if k]})
        for h in parts.highlights
    ]
    actions = [a for a in (scrub_urls(a, allowed) for a in parts.daily_actions) if a]
    texts = [k for h in highlights for k in h.keywords] + actions
    numbers = _unsupported(texts, _supported(p.abstract for p in papers))
    source = parts.source.model_copy(update={"checks": Checks(unsupported_numbers=numbers)})
    return type(parts)(highlights=highlights, daily_actions=actions, source=source)
