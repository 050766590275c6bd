"""Briefs without an LLM: honest extracts of the abstract and the source's own metadata, never invented."""

from __future__ import annotations

import re

from digest.models import Brief, Highlight, Item, Lang, Paper
from digest.summarize import DigestParts
from digest.text import sentences, truncate

_TEXT: dict[Lang, dict[str, str]] = {
    "ko": {
        "dev": "LLM 요약이 없어 개발자 관점 분석은 생략했습니다. 키워드: {keywords}. 초록과 공개 자료를 직접 확인하세요.",
        "dev_nokw": "LLM 요약이 없어 개발자 관점 분석은 생략했습니다. 초록과 공개 자료를 직접 확인하세요.",
        "read": "초록과 PDF에서 실험 설정과 보고된 수치를 확인하기",
        "code": "공개된 코드({url})를 내려받아 예제를 실행해 보기",
        "page": "프로젝트 페이지({url})의 데모와 자료 살펴보기",
        "compare": "키워드({keywords})로 관련 기존 작업과 비교해 보기",
        "compare_nokw": "같은 문제를 다루는 기존 방법과 결과를 비교해 보기",
        "risk1": "LLM 없이 자동 추출한 요약이라 한계와 리스크는 원문에서 직접 확인해야 합니다.",
        "risk2": "보고된 수치는 저자의 주장이며 독립적으로 재현되지 않았습니다.",
        "uncertainty": "LLM 없이 초록 문장을 그대로 옮긴 자동 요약입니다. 해석과 평가는 포함되지 않았습니다.",
    },
    "en": {
        "dev": "No LLM brief, so no developer's view. Keywords: {keywords}. Read the abstract and released material.",
        "dev_nokw": "No LLM brief, so no developer's view. Read the abstract and released material.",
        "read": "Check the experimental setup and reported figures in the abstract and PDF",
        "code": "Clone the released code ({url}) and run its examples",
        "page": "Look through the demos on the project page ({url})",
        "compare": "Compare with earlier work on the same keywords ({keywords})",
        "compare_nokw": "Compare with earlier methods for the same problem",
        "risk1": "Extracted without an LLM: read the paper itself for its limitations and risks.",
        "risk2": "The reported figures are the authors' claims and have not been reproduced independently.",
        "uncertainty": "An automatic extract of the abstract's sentences, without interpretation or assessment.",
    },
}


def _keywords(paper: Paper, limit: int) -> list[str]:
    return paper.ai_keywords[:limit]


def offline_brief(paper: Paper, lang: Lang) -> Brief:
    text = _TEXT[lang]
    said = sentences(paper.abstract)
    one_liner = paper.ai_summary or (said[0] if said else paper.title)
    points = [s for s in said if s != one_liner][:3] or [paper.title]
    keywords = ", ".join(_keywords(paper, 4))
    actions = [text["read"]]
    if paper.github:
        actions.append(text["code"].format(url=paper.github))
    if paper.project_page:
        actions.append(text["page"].format(url=paper.project_page))
    actions.append(text["compare"].format(keywords=keywords) if keywords else text["compare_nokw"])
    return Brief(
        one_liner=one_liner,
        key_points=points,
        developer_view=text["dev"].format(keywords=keywords) if keywords else text["dev_nokw"],
        actions=actions[:3],
        risks=[text["risk1"], text["risk2"]],
        uncertainty=text["uncertainty"],
        abstract_ko=paper.abstract or paper.title,
        tags=_keywords(paper, 6),
        difficulty="중",
        confidence="하",
        origin="fallback",
    )


def short_title(title: str, limit: int = 60) -> str:
    """ "DeepGen 1.0: A Lightweight ..." -> "DeepGen 1.0"; titles without a colon are cut at a grapheme."""
    head = re.split(r":\s", title, maxsplit=1)[0]
    return truncate(head, limit)


def _headline_action(item: Item) -> str:
    """An LLM brief's first action; an offline brief's first is the same for every paper, so take its second
    (the paper's code, project page or keywords) when there is one."""
    actions = item.brief.actions
    return actions[1] if item.brief.origin == "fallback" and len(actions) > 1 else actions[0]


def digest_parts(items: list[Item], lang: Lang) -> DigestParts:
    highlights = [
        Highlight(
            rank=item.rank,
            headline=short_title(item.paper.title),
            # An LLM brief's tags are curated and in the digest's language; otherwise HF's keywords say more.
            keywords=(item.brief.tags if item.brief.origin == "llm" else item.paper.ai_keywords or item.brief.tags)[:3],
        )
        for item in items
    ]
    actions = [f"{short_title(item.paper.title)}: {_headline_action(item)}" for item in items[:3] if item.brief.actions]
    return DigestParts(highlights=highlights, daily_actions=actions)
