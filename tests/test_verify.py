"""The faithfulness checker: figures normalised by value, checked against abstracts and facts.json."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from digest.models import Brief, Paper
from digest.sources import sample
from digest.summarize.golden import golden_brief, golden_papers
from digest.urls import scrub_urls, urls
from digest.verify import brief_texts, figures, lower, scrub_brief, unsupported_numbers

FACTS = {r["id"]: r for r in json.loads((Path(__file__).parent / "data" / "facts.json").read_text(encoding="utf-8"))}


def values(text: str, words: bool = False) -> set[Decimal]:
    return {f.value.normalize() for f in figures(text, words=words)}


@pytest.mark.parametrize(
    ("brief", "abstract"),
    [
        ("320억 파라미터", "a 32B model"),
        ("16억 파라미터", "1.6 billion parameters"),
        ("3백만 시간", "3 million hours"),
        ("4가지 과제", "four tasks"),
        ("10.1% 향상", "(+10.1%)"),
        ("최대 300배", "5-300x faster"),
        ("50M 규모", "~50M samples"),
        ("0.1501의 IC", "IC of 0.1501"),
        ("1,000개", "1000 items"),
    ],
)
def test_the_same_figure_written_differently_is_supported(brief, abstract):
    assert values(brief) <= values(abstract, words=True)


@pytest.mark.parametrize(
    "text", ["GPT-4o", "Qwen3 모델", "IT2VA", "Benchmark^2", "(1) 첫째 (2) 둘째", "https://arxiv.org/abs/2602.12205"]
)
def test_names_list_markers_and_links_hold_no_figures(text):
    assert figures(text) == []


def test_an_invented_figure_is_flagged_once_and_lowers_by_one_level():
    brief = Brief(
        one_liner="정확도 97.3% 향상",
        key_points=["97.3%", "32B 모델", "세 가지"],
        developer_view="-",
        actions=["a", "b", "c"],
        risks=["r", "s"],
        uncertainty="-",
        abstract_ko="-",
        tags=["LLM"],
        difficulty="중",
        confidence="상",
    )
    assert unsupported_numbers(brief, "A 32B model.") == ["97.3%"]
    assert [lower("상"), lower("중"), lower("하")] == ["중", "하", "하"]


def test_every_figure_of_facts_json_is_found_in_its_sample_abstract():
    """The checker's side of the abstract: it must see every figure facts.json lists (or it would flag them)."""
    abstracts = {p.id: p.abstract for day in sample.available_days() for p in sample.fetch(day)[1]}
    for paper_id, record in FACTS.items():
        listed = {v for n in record["numbers_in_v1_abstract"] for v in values(n, words=True)}
        assert listed, paper_id
        assert listed <= values(abstracts[paper_id], words=True), paper_id


def test_the_golden_briefs_are_faithful_to_facts_json():
    """Every figure in the 20 golden briefs, checked against the v1 abstract figures of facts.json."""
    checked = flagged = 0
    papers = {p.id: p for day in sample.available_days() for p in sample.fetch(day)[1]}
    for paper_id in golden_papers():
        brief = golden_brief(papers[paper_id])
        assert brief is not None
        checked += sum(len(figures(t)) for t in brief_texts(brief))
        flagged += len(unsupported_numbers(brief, " ; ".join(FACTS[paper_id]["numbers_in_v1_abstract"])))
    print(f"golden briefs: {checked} figures checked, {flagged} flagged")
    assert checked == 76  # 78 in the records; the arXiv day's one-liners repeated as first bullets are shown once
    assert flagged == 0


def test_golden_cache_entries_leave_missing_sections_out_and_fix_the_seed_defects():
    papers = {p.id: p for day in sample.available_days() for p in sample.fetch(day)[1]}
    quanta = golden_brief(papers["2602.07085"])
    assert quanta is not None and "백테스팅" in quanta.abstract_ko and "백테스킹" not in quanta.abstract_ko
    # 02-10's format has no risks, actions, levels: left out, never filled with generic lines.
    assert (quanta.risks, quanta.actions, quanta.difficulty, quanta.confidence, quanta.developer_view) == (
        [],
        [],
        None,
        None,
        "",
    )
    assert quanta.provenance == {"one_liner": "reference", "abstract_ko": "reference", "key_points": "reference"}
    pixelgen = golden_brief(papers["2602.02493"])
    assert pixelgen is not None and pixelgen.one_liner not in pixelgen.key_points  # the arXiv format repeated it
    klear = golden_brief(papers["2601.04151"])
    assert klear is not None and "진보적인" not in klear.model_dump_json() and "점진적인" in klear.one_liner
    rl = golden_brief(papers["2602.02488"])
    assert rl is not None and rl.one_liner.startswith("RLAnything은")
    deepgen = golden_brief(papers["2602.12205"])
    assert deepgen is not None and not {"RAG", "Safety"} & set(deepgen.tags)
    assert "Agent" not in golden_brief(papers["2602.12036"]).tags  # type: ignore[union-attr]
    assert not {"RAG", "Distillation"} & set(golden_brief(papers["2602.10934"]).tags)  # type: ignore[union-attr]
    # Another abstract (a later arXiv version) is not what the golden brief describes.
    revised = papers["2602.12205"].model_copy(update={"abstract": "A different v2 abstract."})
    assert golden_brief(revised) is None


def test_links_the_model_writes_are_removed_unless_they_are_the_papers_own():
    paper = Paper(id="2602.12205", title="T", url="https://huggingface.co/papers/2602.12205", github="https://g.it/x")
    brief = golden_brief(next(p for p in sample.fetch(sample.DEMO_DAY)[1] if p.id == "2602.12205"))
    assert brief is not None
    tampered = brief.model_copy(update={"actions": ["see https://evil.example/x now", "clone https://g.it/x", "c"]})
    clean = scrub_brief(tampered, paper)
    assert clean.actions[:2] == ["see now", "clone https://g.it/x"]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (
            "공개된 코드(https://github.com/QuantaAlpha/QuantaAlpha)를 내려받아",
            ["https://github.com/QuantaAlpha/QuantaAlpha"],
        ),
        ("see [링크](http://evil.example) now", ["http://evil.example"]),
        ("https://en.wikipedia.org/wiki/C_(language).", ["https://en.wikipedia.org/wiki/C_(language)"]),
        ("Project Pages: https://zehong-ma.github.io/PixelGen/", ["https://zehong-ma.github.io/PixelGen/"]),
        ("끝 https://x.org/a, 그리고 www.y.org.", ["https://x.org/a", "www.y.org"]),
        ("<https://x.org/a>", ["https://x.org/a"]),
    ],
)
def test_a_url_ends_where_it_ends(text, found):
    assert urls(text) == found


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        ("공개된 코드(https://evil.example/x)를 내려받아 실행해 보기", "공개된 코드를 내려받아 실행해 보기"),
        ("프로젝트 페이지(https://evil.example/p)의 데모 살펴보기", "프로젝트 페이지의 데모 살펴보기"),
        ("자세히는 [링크](http://evil.example) 참고", "자세히는 링크 참고"),
        ("https://evil.example/steal 에 로그인하기", "에 로그인하기"),
        ("코드 ( https://evil.example ) 참고", "코드 참고"),
        ("keep https://github.com/a/b)를 보기", "keep https://github.com/a/b)를 보기"),
    ],
)
def test_the_foreign_link_scrub_leaves_no_broken_text(text, scrubbed):
    out = scrub_urls(text, {"https://github.com/a/b"})
    assert out == scrubbed and "( " not in out and "()" not in out
