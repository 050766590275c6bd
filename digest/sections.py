"""The brief sections: one table used by the Markdown report, the commands and both chat adapters."""

from __future__ import annotations

from dataclasses import dataclass

from digest.models import Brief, Lang


@dataclass(frozen=True)
class Section:
    key: str
    aliases: tuple[str, ...]
    emoji: str
    heading_ko: str
    heading_en: str
    field: str | None  # the Brief field it shows; None for sections built from the paper (links) or all

    def heading(self, lang: Lang = "ko") -> str:
        title = self.heading_ko if lang == "ko" else self.heading_en
        return f"{self.emoji} {title}".strip()


# The technologist emoji is person + ZWJ + laptop; written with an explicit escape so no editor drops U+200D.
TECHNOLOGIST = "\U0001f9d1\u200d\U0001f4bb"

SECTIONS: tuple[Section, ...] = (
    Section(
        "summary",
        ("요약", "한줄", "한줄요약", "oneliner", "one-liner"),
        "📌",
        "한 줄 요약",
        "One-line summary",
        "one_liner",
    ),
    Section(
        "points", ("핵심", "포인트", "핵심포인트", "keypoints", "key"), "🔑", "핵심 포인트", "Key points", "key_points"
    ),
    Section(
        "dev",
        ("개발자", "개발자관점", "developer", "devview"),
        TECHNOLOGIST,
        "개발자 관점",
        "Developer's view",
        "developer_view",
    ),
    Section(
        "actions", ("액션", "실험", "적용", "action", "todo"), "🚀", "바로 실험할 액션", "Actions to try", "actions"
    ),
    Section(
        "risks",
        ("리스크", "위험", "한계", "risk", "limits", "limitations"),
        "⚠️",
        "리스크/한계",
        "Risks and limits",
        "risks",
    ),
    Section("uncertainty", ("불확실성", "uncertain"), "🧭", "불확실성 메모", "Uncertainty note", "uncertainty"),
    Section(
        "abstract",
        ("초록", "상세", "detail", "details"),
        "📝",
        "초록 기반 상세 설명",
        "The abstract, explained",
        "abstract_ko",
    ),
    Section("links", ("링크", "link", "refs", "references"), "🔗", "참고 링크", "Links", None),
    Section("tags", ("태그", "tag", "keywords"), "🏷️", "태그", "Tags", "tags"),
    Section("all", ("전체", "full", "everything"), "📄", "전체", "Everything", None),
)

SECTION_BY_KEY = {s.key: s for s in SECTIONS}
# The order of the sections in a full brief (the reference layout); tags and links are shown separately.
BRIEF_SECTIONS = tuple(
    SECTION_BY_KEY[k] for k in ("summary", "points", "dev", "actions", "risks", "uncertainty", "abstract")
)


def section_body(section: Section, brief: Brief) -> str | list[str]:
    """The raw content of one section of a brief: a paragraph or a list of items."""
    assert section.field is not None, section.key
    return getattr(brief, section.field)


# Labels that are not section headings but appear in every rendering.
LABELS: dict[Lang, dict[str, str]] = {
    "ko": {
        "upvotes": "Upvotes",
        "difficulty": "도입 난이도",
        "confidence": "신뢰도",
        "tags": "태그",
        "fallback": "⚙️ 이 요약은 LLM이 작성하지 않았습니다: 초록과 Hugging Face 메타데이터에서 자동으로 뽑은 내용입니다.",
        "unsupported": "⚠️ 초록에서 확인되지 않은 수치가 있어 신뢰도를 낮췄습니다",
    },
    "en": {
        "upvotes": "Upvotes",
        "difficulty": "Adoption difficulty",
        "confidence": "Confidence",
        "tags": "Tags",
        "fallback": "⚙️ Not written by the LLM: extracted automatically from the abstract and Hugging Face metadata.",
        "unsupported": "⚠️ Figures not found in the abstract; confidence lowered",
    },
}
