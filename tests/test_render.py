from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from digest.models import Brief, Digest, Highlight, Item, Paper
from digest.render import render_item, render_markdown
from digest.sections import BRIEF_SECTIONS, TECHNOLOGIST
from digest.sources import sample
from digest.summarize.offline import digest_parts, offline_brief

MD = MarkdownIt("commonmark")
REFERENCE_DAYS = [date(2026, 1, 8), date(2026, 2, 2), date(2026, 2, 10), date(2026, 2, 13)]


def digest_for(day: date, lang: str = "ko") -> Digest:
    _, papers = sample.fetch(day)
    papers = sorted(papers, key=lambda p: (p.upvotes, p.comments, p.id), reverse=True)[:5]
    items = [Item(rank=n, paper=p, brief=offline_brief(p, lang)) for n, p in enumerate(papers, 1)]  # type: ignore[arg-type]
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


@pytest.mark.parametrize("day", REFERENCE_DAYS, ids=str)
def test_reference_days_have_every_section_of_the_layout(day):
    digest = digest_for(day)
    markdown = render_markdown(digest)
    found = headings(markdown)
    assert found[0] == (1, f"{day} Daily Papers (Top 5)")
    level2 = [text for level, text in found if level == 2]
    assert level2[0] == "오늘의 Top 이슈"
    assert level2[-2:] == ["오늘의 실무 액션 3가지", "원문 목록 (Raw Index)"]
    expected = [s.heading("ko") for s in BRIEF_SECTIONS] + ["🔗 참고 링크"]
    for item in digest.items:
        assert f"{item.rank}. {item.paper.title}" in level2
    level3 = [text for level, text in found if level == 3 and text != "논문"]
    assert level3 == expected * 5
    assert "생성 시간(KST)" in markdown and "데이터 소스" in markdown
    assert "\ufffd" not in markdown
    assert f"### {TECHNOLOGIST} 개발자 관점" in markdown


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
    brief = offline_brief(paper, "ko")
    brief = Brief(**{**brief.model_dump(), "risks": [title, abstract], "tags": [keyword, title]})
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


def test_offline_daily_actions_name_something_specific_to_each_paper():
    actions = digest_for(date(2026, 2, 13)).daily_actions
    assert len(actions) == 3
    # The generic "read the abstract and PDF" is every offline brief's first action; it must not fill the list.
    bodies = [a.split(": ", 1)[1] for a in actions]
    assert len(set(bodies)) == 3, actions
