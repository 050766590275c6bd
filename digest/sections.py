"""The brief sections: one table used by the Markdown report, the commands and both chat adapters."""

from __future__ import annotations

from dataclasses import dataclass

from digest.models import Brief, Item, Lang, Level, SectionOrigin
from digest.sources.registry import source_label


@dataclass(frozen=True)
class Section:
    key: str
    aliases: tuple[str, ...]
    emoji: str
    heading_ko: str
    heading_en: str
    field: str | None  # the Brief field it shows; None for sections built from the paper (links) or all

    def heading(self, lang: Lang = "ko", origin: SectionOrigin | None = None) -> str:
        """The heading; for text extracted as it is (not written by a model) a heading that says so."""
        title = self.heading_ko if lang == "ko" else self.heading_en
        if origin == "extracted":
            title = EXTRACTED_HEADINGS[lang].get(self.key) or title + EXTRACTED_SUFFIX[lang]
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


# Extracted text is shown in the language it is in (the sources' abstracts are English) and says so.
EXTRACTED_HEADINGS: dict[Lang, dict[str, str]] = {
    "ko": {"abstract": "초록 원문 (영어)"},
    "en": {"abstract": "Abstract (as published)"},
}
EXTRACTED_SUFFIX: dict[Lang, str] = {"ko": " (원문 발췌)", "en": " (extracted)"}


def section_body(section: Section, brief: Brief) -> str | list[str]:
    """The raw content of one section of a brief: a paragraph or a list of items ("" or [] when it has none)."""
    assert section.field is not None, section.key
    return getattr(brief, section.field)


def section_heading(section: Section, brief: Brief, lang: Lang) -> str:
    """The heading of one section as this brief has it (see Section.heading)."""
    return section.heading(lang, brief.written_by(section.field) if section.field else None)


def present_sections(brief: Brief) -> list[Section]:
    """The sections of a full brief that have something to show, in the reference order."""
    return [section for section in BRIEF_SECTIONS if section_body(section, brief)]


def has_section(brief: Brief, key: str) -> bool:
    """Whether `/paper N key` has something to show for this brief (links and "all" always do)."""
    section = SECTION_BY_KEY[key]
    return section.field is None or bool(getattr(brief, section.field))


LEVELS: dict[Lang, dict[Level, str]] = {
    "ko": {"상": "상", "중": "중", "하": "하"},
    "en": {"상": "High", "중": "Medium", "하": "Low"},
}


def level_label(level: Level, lang: Lang) -> str:
    """A stored level (상/중/하) in the reader's language."""
    return LEVELS[lang][level]


def meta_fields(item: Item, lang: Lang) -> list[tuple[str, str]]:
    """(label, value) of the paper's meta line: only what exists (votes a source counted, assessed levels)."""
    labels = LABELS[lang]
    out: list[tuple[str, str]] = []
    if item.paper.upvotes is not None:
        out.append((labels["upvotes"], str(item.paper.upvotes)))
    if item.brief.difficulty is not None:
        out.append((labels["difficulty"], level_label(item.brief.difficulty, lang)))
    if item.brief.confidence is not None:
        out.append((labels["confidence"], level_label(item.brief.confidence, lang)))
    return out


def fallback_note(item: Item, lang: Lang) -> str | None:
    """The one honest line over a brief nobody wrote: where its text was extracted from. None otherwise."""
    if item.brief.origin != "fallback":
        return None
    return LABELS[lang]["fallback"].format(source=source_label(item.paper.source))


# Labels that are not section headings but appear in every rendering.
LABELS: dict[Lang, dict[str, str]] = {
    "ko": {
        "upvotes": "Upvotes",
        "difficulty": "도입 난이도",
        "confidence": "신뢰도",
        "tags": "태그",
        "fallback": "⚙️ LLM이 쓴 요약이 아닙니다: {source}의 초록과 메타데이터를 원문(영어) 그대로 옮겼습니다.",
        "unsupported": "⚠️ 초록에서 확인되지 않은 수치가 있어 신뢰도를 낮췄습니다",
        "absent": "이 논문의 요약에는 이 섹션이 없습니다.",
    },
    "en": {
        "upvotes": "Upvotes",
        "difficulty": "Adoption difficulty",
        "confidence": "Confidence",
        "tags": "Tags",
        "fallback": "⚙️ Not written by the LLM: the abstract and metadata from {source}, as published.",
        "unsupported": "⚠️ Figures not found in the abstract; confidence lowered",
        "absent": "This paper's brief has no such section.",
    },
}
