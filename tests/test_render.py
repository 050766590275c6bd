from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from digest import select
from digest.models import Brief, Digest, Highlight, Item, Paper
from digest.render import escape, render_item, render_markdown
from digest.sections import BRIEF_SECTIONS, SECTION_BY_KEY, TECHNOLOGIST
from digest.sources import sample
from digest.summarize.golden import golden_brief
from digest.summarize.offline import digest_parts, offline_brief

MD = MarkdownIt("commonmark")
REFERENCE_DAYS = [date(2026, 1, 8), date(2026, 2, 2), date(2026, 2, 10), date(2026, 2, 13)]


def digest_for(day: date, lang: str = "ko") -> Digest:
    """The day as `digestbot build --no-llm` shows it: the golden briefs in Korean, the abstracts otherwise."""
    _, papers = sample.fetch(day)
    papers = select.top_k(papers, 5)
    briefs = [(golden_brief(p) if lang == "ko" else None) or offline_brief(p, lang) for p in papers]  # type: ignore[arg-type]
    items = [Item(rank=n, paper=p, brief=b) for n, (p, b) in enumerate(zip(papers, briefs, strict=True), 1)]
    parts = digest_parts(items, lang)  # type: ignore[arg-type]
    return Digest(
        date=day,
        lang=lang,
        generated_at=datetime(2026, 2, 14, 8, 0, tzinfo=UTC),
        items=items,
        highlights=parts.highlights,
        daily_actions=parts.daily_actions,
    )


def headings(markdown: str) -> list[tuple[int, str]]:
    tokens = MD.parse(markdown)

    def text(inline) -> str:
        return "".join(c.content for c in inline.children or [] if c.type in ("text", "code_inline"))

    return [(int(t.tag[1]), text(tokens[i + 1])) for i, t in enumerate(tokens) if t.type == "heading_open"]


def links(markdown: str) -> list[str]:
    out = []
    for token in MD.parse(markdown):
        for child in token.children or []:
            if child.type in ("link_open", "image"):
                out.append(child.attrs.get("href") or child.attrs.get("src"))
    return out


# The sections each reference format has (its golden briefs), in the reference order; links always follow.
REFERENCE_SECTIONS = {
    date(2026, 1, 8): ["summary", "points", "abstract"],
    date(2026, 2, 2): ["summary", "points", "dev", "actions", "risks"],
    date(2026, 2, 10): ["summary", "points", "abstract"],
    date(2026, 2, 13): ["summary", "points", "dev", "actions", "risks", "uncertainty", "abstract"],
}


@pytest.mark.parametrize("day", REFERENCE_DAYS, ids=str)
def test_reference_days_have_the_sections_their_reference_has_and_no_filler(day):
    digest = digest_for(day)
    markdown = render_markdown(digest)
    found = headings(markdown)
    assert found[0] == (1, f"{day} Daily Papers (Top 5)")
    level2 = [text for level, text in found if level == 2]
    assert level2[0] == "오늘의 Top 이슈"
    assert level2[-1] == "원문 목록 (Raw Index)"
    for item in digest.items:
        assert f"{item.rank}. {item.paper.title}" in level2
    expected = [SECTION_BY_KEY[k].heading("ko") for k in REFERENCE_SECTIONS[day]] + ["🔗 참고 링크"]
    level3 = [text for level, text in found if level == 3 and text != "논문"]
    assert level3 == expected * 5
    assert "생성 시간(KST)" in markdown and "데이터 소스" in markdown
    assert "\ufffd" not in markdown
    if "dev" in REFERENCE_SECTIONS[day]:
        assert f"### {TECHNOLOGIST} 개발자 관점" in markdown
    # Nothing assessed the levels of the older formats: none is shown.
    assert ("도입 난이도" in markdown) == (day == date(2026, 2, 13))


@pytest.mark.parametrize("day", REFERENCE_DAYS, ids=str)
def test_each_paper_links_only_to_its_own_metadata(day):
    digest = digest_for(day)
    for item in digest.items:
        own = {
            item.paper.url,
            item.paper.arxiv_url,
            item.paper.pdf_url,
            item.paper.github,
            item.paper.project_page,
            item.paper.thumbnail,
        }
        found = set(links("\n".join(render_item(item, "ko"))))
        assert item.paper.arxiv_url in found and found <= own


PIECES = [
    *"<>&*_[]()`#|\\!-+=.~",
    "\n",
    "\n\n",
    "🧑\u200d💻",
    "👩‍👩‍👧",
    "🇰🇷",
    "é",
    "\u200d",
    "\ufffd",
    "\x00",
    "\x1b",
    "한국어",
    "https://evil.example/x",
    "<!channel>",
    "[x](https://evil.example)",
    "# ",
    "1. ",
    "> ",
]
NASTY = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=5)), max_size=60).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=NASTY, abstract=NASTY, keyword=NASTY, long=st.booleans())
def test_markdown_stays_well_formed_whatever_the_text(title, abstract, keyword, long):
    if long:
        abstract = abstract * 50
    paper = Paper(
        id="2602.00001",
        title=title or "t",
        abstract=abstract,
        url="https://huggingface.co/papers/2602.00001",
        arxiv_url="https://arxiv.org/abs/2602.00001",
        ai_keywords=[keyword],
        ai_summary=keyword,
    )
    # Every section written (a letter first, so no text cleans away to an empty, left-out section).
    written = {"key_points": [title, keyword, "k"], "developer_view": "d" + abstract, "actions": ["a" + abstract]}
    written |= {"risks": ["r" + title, "s" + abstract], "uncertainty": "u" + keyword, "abstract_ko": "x" + abstract}
    brief = Brief(one_liner="o" + keyword, tags=[keyword, title], difficulty="중", confidence="상", **written)
    digest = Digest(
        date=date(2026, 2, 13),
        generated_at=datetime(2026, 2, 14, tzinfo=UTC),
        items=[Item(rank=1, paper=paper, brief=brief)],
        highlights=[Highlight(rank=1, headline=title or "t", keywords=[keyword])],
        daily_actions=[abstract],
    )
    markdown = render_markdown(digest)
    assert "\ufffd" not in markdown and "\x00" not in markdown
    tokens = MD.parse(markdown)
    assert not [t for t in tokens if t.type == "html_block"]
    assert not [c for t in tokens for c in t.children or [] if c.type == "html_inline"]
    # Text can never add a link or image of its own: the only targets are the paper's.
    assert set(links(markdown)) <= {paper.url, paper.arxiv_url}
    found = headings(markdown)
    assert [level for level, _ in found].count(1) == 1
    assert [text for level, text in found if level == 3] == [s.heading("ko") for s in BRIEF_SECTIONS] + [
        "🔗 참고 링크",
        "논문",
    ]
    assert TECHNOLOGIST in markdown


@pytest.mark.parametrize("day", REFERENCE_DAYS, ids=str)
@pytest.mark.parametrize("lang", ["ko", "en"])
def test_offline_daily_actions_are_concrete_and_different(day, lang):
    actions = digest_for(day, lang).daily_actions
    assert 1 <= len(actions) <= 3
    # Each names its own paper and a step of its own (its brief's action, its code, its page); never filler.
    heads = [a.split(": ", 1)[0] for a in actions]
    assert len(set(heads)) == len(actions) and len(set(actions)) == len(actions)
    assert not any("초록과 PDF에서" in a or "Check the experimental setup" in a for a in actions)


def test_a_headline_is_cut_at_a_word_boundary():
    highlights = digest_for(date(2026, 2, 10)).highlights
    assert highlights[2].headline == "Modality Gap-Driven Subspace Alignment Training Paradigm…"


@pytest.mark.parametrize(
    ("text", "escaped"),
    [("2026-02-13부터 비어 있습니다", "2026-02-13부터 비어 있습니다"), ("1. item", "1\\. item"), ("- x", "\\- x")],
)
def test_only_what_would_open_a_block_is_escaped(text, escaped):
    assert escape(text) == escaped
