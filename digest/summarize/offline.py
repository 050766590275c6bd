"""Briefs without an LLM: the abstract and the source's own metadata as published, never invented.

Each piece of text is shown once, in the language it is in (the sources' abstracts are English): the one-line
summary is Hugging Face's own summary when it has one, else the abstract's first sentence (then the abstract
section shows the rest); the tags are Hugging Face's keywords. Sections nobody wrote (developer's view, actions,
risks, uncertainty, levels) are left out: the renderers say once that the brief was not written by an LLM.
"""

from __future__ import annotations

import re

from digest.models import Brief, Highlight, Item, Lang, Paper
from digest.summarize import DigestParts
from digest.text import sentences, shorten

_ACTIONS: dict[Lang, dict[str, str]] = {
    "ko": {
        "code": "{title}: 공개 코드로 예제 돌려 보기 ({url})",
        "page": "{title}: 프로젝트 페이지의 데모와 자료 살펴보기 ({url})",
    },
    "en": {
        "code": "{title}: run the examples of the released code ({url})",
        "page": "{title}: try the demos on the project page ({url})",
    },
}


def offline_brief(paper: Paper, lang: Lang) -> Brief:
    """`lang` does not change the text (it is the paper's own); the renderers label it in `lang`."""
    said = sentences(paper.abstract)
    if paper.ai_summary:
        one_liner, rest = paper.ai_summary, paper.abstract
    elif said:
        one_liner, rest = said[0], " ".join(said[1:])
    else:
        one_liner, rest = "", ""
    return Brief(one_liner=one_liner, abstract_ko=rest, tags=paper.ai_keywords[:6], origin="fallback")


def short_title(title: str, limit: int = 60) -> str:
    """ "DeepGen 1.0: A Lightweight ..." -> "DeepGen 1.0"; titles without a colon are cut at a word boundary."""
    head = re.split(r":\s", title, maxsplit=1)[0]
    return shorten(head, limit)


def _keywords(item: Item) -> list[str]:
    """A model's tags are curated and in the digest's language; otherwise Hugging Face's keywords say more."""
    if item.brief.written_by("tags") in ("llm", "reference"):
        return item.brief.tags[:3]
    return (item.paper.ai_keywords or item.brief.tags)[:3]


def _action(item: Item, lang: Lang) -> str | None:
    """One concrete step for this paper: its brief's first written action, else its code, else its page."""
    title = short_title(item.paper.title)
    if item.brief.actions and item.brief.written_by("actions") != "extracted":
        return f"{title}: {item.brief.actions[0]}"
    if item.paper.github:
        return _ACTIONS[lang]["code"].format(title=title, url=item.paper.github)
    if item.paper.project_page:
        return _ACTIONS[lang]["page"].format(title=title, url=item.paper.project_page)
    return None


def digest_parts(items: list[Item], lang: Lang) -> DigestParts:
    """Top issues and up to three actions derived from the briefs and metadata, with no call: a paper with nothing
    concrete to try is skipped rather than given a generic step."""
    highlights = [Highlight(rank=i.rank, headline=short_title(i.paper.title), keywords=_keywords(i)) for i in items]
    actions = [a for a in (_action(item, lang) for item in items) if a][:3]
    return DigestParts(highlights=highlights, daily_actions=actions)
