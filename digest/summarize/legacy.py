"""Briefs stored before sections had provenance, upgraded on read (digest.models.Brief calls this).

Earlier offline briefs, and golden briefs whose reference lacked a section, filled sections with generic
lines that repeat on every paper ("no LLM brief, so no developer's view", the same two risks, 중/하 levels).
They were never analysis: the upgrade drops them, and says who wrote what is left.
"""

from __future__ import annotations

import re
from typing import Any

# The generic lines earlier versions wrote, as they were written (prefixes where a keyword list followed).
_FILLER_PREFIXES = (
    "LLM 요약이 없어 개발자 관점 분석은 생략했습니다",
    "No LLM brief, so no developer's view",
    "초록과 PDF에서 실험 설정과 보고된 수치를 확인하기",
    "공개된 코드(",
    "프로젝트 페이지(",
    "키워드(",
    "같은 문제를 다루는 기존 방법과 결과를 비교해 보기",
    "Check the experimental setup and reported figures in the abstract and PDF",
    "Clone the released code (",
    "Look through the demos on the project page (",
    "Compare with earlier work on the same keywords (",
    "Compare with earlier methods for the same problem",
    "LLM 없이 자동 추출한 요약이라 한계와 리스크는 원문에서 직접 확인해야 합니다.",
    "보고된 수치는 저자의 주장이며 독립적으로 재현되지 않았습니다.",
    "Extracted without an LLM: read the paper itself for its limitations and risks.",
    "The reported figures are the authors' claims and have not been reproduced independently.",
    "LLM 없이 초록 문장을 그대로 옮긴 자동 요약입니다.",
    "An automatic extract of the abstract's sentences, without interpretation or assessment.",
)
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_TEXT = ("one_liner", "developer_view", "uncertainty", "abstract_ko")
_LISTS = ("key_points", "actions", "risks", "tags")


def _filler(text: Any) -> bool:
    return isinstance(text, str) and text.strip().startswith(_FILLER_PREFIXES)


def upgrade_brief(data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    had_filler = False
    for name in _TEXT:
        if _filler(data.get(name)):
            data[name], had_filler = "", True
    for name in ("actions", "risks"):
        kept = [entry for entry in data.get(name) or [] if not _filler(entry)]
        had_filler = had_filler or len(kept) != len(data.get(name) or [])
        data[name] = kept
    origin = data.get("origin", "llm")
    if origin == "fallback":
        abstract = data.get("abstract_ko") or ""
        # The abstract's own sentences repeated as key points: shown once, in the abstract.
        if all(point in abstract for point in data.get("key_points") or []):
            data["key_points"] = []
        data.update(difficulty=None, confidence=None)
        data["provenance"] = {name: "extracted" for name in (*_TEXT, *_LISTS) if data.get(name)}
    elif had_filler:
        # A golden brief merged with the filler: its own sections came from the reference digest; the ones the
        # reference lacked were extracted (keywords as tags, the English abstract) or invented levels.
        korean = bool(_HANGUL.search(data.get("one_liner") or ""))
        provenance = {}
        for name in (*_TEXT, *_LISTS):
            value = data.get(name)
            if not value:
                continue
            text = " ".join(value) if isinstance(value, list) else value
            extracted = name == "tags" or (korean and not _HANGUL.search(text))
            provenance[name] = "extracted" if extracted else "reference"
        data["provenance"] = provenance
        data.update(difficulty=None, confidence=None)
    return data
