"""Faithfulness: every number in a brief must be found in the paper's abstract; links come from metadata only.

Numbers are compared by value after normalisation, so "32B", "32 billion" and "320억" are the same figure,
"+10.1%" matches "10.1%", and "4가지" matches "four". Digits fused to letters (Qwen3, GPT-4o, IT2VA) are
part of a name, not a figure, and are not checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import regex

from digest.models import Brief, Level, Paper

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
_URL = re.compile(r"https?://\S+|www\.\S+")
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
    text = _URL.sub(" ", text)
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
    """Every piece of model-written text in a brief."""
    return [
        brief.one_liner,
        *brief.key_points,
        brief.developer_view,
        *brief.actions,
        *brief.risks,
        brief.uncertainty,
        brief.abstract_ko,
        *brief.tags,
    ]


def unsupported_numbers(brief: Brief, abstract: str) -> list[str]:
    """Figures of the brief whose value is not in the abstract, each once, in order of appearance."""
    known = {f.value.normalize() for f in figures(abstract, words=True)}
    out: list[str] = []
    for text in brief_texts(brief):
        for figure in figures(text):
            if figure.value.normalize() not in known and figure.text not in out:
                out.append(figure.text)
    return out


def lower(level: Level) -> Level:
    """One level less confident: 상 -> 중 -> 하."""
    return _LOWER[level]


def strip_foreign_links(brief: Brief, paper: Paper) -> Brief:
    """Remove any URL the model wrote that is not one of the paper's own links (metadata is the only source)."""
    allowed = {link for _, link in paper.links()}

    def scrub(text: str) -> str:
        return _URL.sub(lambda m: m.group(0) if m.group(0).rstrip(").,;") in allowed else "", text).strip()

    data = brief.model_dump()
    for key, value in data.items():
        if isinstance(value, str) and key not in ("difficulty", "confidence", "origin"):
            data[key] = scrub(value)
        elif isinstance(value, list):
            data[key] = [scrub(v) for v in value]
    return Brief.model_validate(data)
