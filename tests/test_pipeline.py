from __future__ import annotations

import json
from datetime import date

import pytest

from digest import pipeline
from tests.fakes.base import Fault


async def test_build_from_hugging_face_returns_the_reference_top_five(make_settings, fake_hf, store):
    settings = make_settings(hf_base_url=fake_hf.url)
    result = await pipeline.build(settings, store, date(2026, 2, 10), source="huggingface")
    assert [i.paper.upvotes for i in result.digest.items] == [140, 130, 120, 114, 51]
    assert [i.rank for i in result.digest.items] == [1, 2, 3, 4, 5]
    # Without an LLM the briefs are the golden ones (the reference digest wrote them for these very abstracts).
    assert {s for i in result.digest.items for s in i.brief.provenance.values()} == {"reference"}
    assert result.digest.sources[0].model_dump(exclude={"day"}) == {
        "name": "huggingface",
        "fetched": 8,
        "selected": 5,
        "error": None,
        "ranking": "upvotes",
    }
    assert result.stored
    stored = await store.get_digest(date(2026, 2, 10), "ko")
    assert stored == result.digest


async def test_build_writes_the_archive_files(make_settings, fake_hf, store):
    settings = make_settings(hf_base_url=fake_hf.url)
    result = await pipeline.build(settings, store, date(2026, 2, 13), source="huggingface")
    md_path, json_path = result.archive_paths
    assert md_path == settings.data_dir / "archive" / "2026-02-13.ko.md"
    assert md_path.read_text(encoding="utf-8") == result.markdown
    assert json.loads(json_path.read_text(encoding="utf-8"))["date"] == "2026-02-13"


async def test_auto_uses_arxiv_when_hugging_face_stays_down(make_settings, fake_hf, fake_arxiv, store):
    fake_hf.fail_next(*[Fault(status=503) for _ in range(3)])
    settings = make_settings(hf_base_url=fake_hf.url, arxiv_base_url=fake_arxiv.url)
    result = await pipeline.build(settings, store, date(2026, 2, 2), source="auto")
    digest = result.digest
    assert [s.name for s in digest.sources] == ["huggingface", "arxiv"]
    assert digest.sources[0].error == "HTTP 503 after 3 attempts"
    assert digest.sources[1].selected == 5
    assert digest.items[0].paper.id == "2602.02495"
    assert any("huggingface" in note and "arxiv" in note for note in digest.notes)
    assert "수집 실패" in result.markdown


async def test_every_source_down_fails_the_build_with_a_reason(make_settings, fake_hf, fake_arxiv, store):
    fake_hf.fail_next(*[Fault(status=500) for _ in range(3)])
    fake_arxiv.fail_next(*[Fault(status=500) for _ in range(3)])
    settings = make_settings(hf_base_url=fake_hf.url, arxiv_base_url=fake_arxiv.url)
    with pytest.raises(pipeline.BuildFailed, match=r"huggingface: HTTP 500.*arxiv: HTTP 500"):
        await pipeline.build(settings, store, date(2026, 2, 2), source="auto")
    assert await store.get_digest(date(2026, 2, 2), "ko") is None


async def test_an_empty_day_falls_back_and_says_so(make_settings, fake_hf, store):
    settings = make_settings(hf_base_url=fake_hf.url)
    result = await pipeline.build(settings, store, date(2026, 2, 15), source="huggingface")
    digest = result.digest
    assert digest.papers_day == date(2026, 2, 13)
    assert [i.paper.upvotes for i in digest.items] == [181, 86, 69, 55, 45]
    assert any("2026-02-15" in n for n in digest.notes) and any("2026-02-13" in n for n in digest.notes)
    assert "2026-02-13 목록" in result.markdown


async def test_a_day_with_nothing_at_all_says_so_once(make_settings, fake_hf, store):
    settings = make_settings(hf_base_url=fake_hf.url, fallback_days=3)
    result = await pipeline.build(settings, store, date(2026, 3, 1), source="huggingface")
    digest = result.digest
    assert digest.items == []
    assert digest.notes == [
        "2026-02-26부터 2026-03-01까지 Hugging Face Daily Papers 목록에 보여줄 새 논문이 없어 이번 다이제스트는 비어 "
        "있습니다."
    ]
    assert result.markdown.count("⚠️") == 1 and "Top 0" not in result.markdown
    assert result.markdown.startswith("# 2026-03-01 Daily Papers\n")
    assert [(s.name, s.day) for s in digest.sources] == [("huggingface", date(2026, 3, 1))]


async def test_latest_never_points_at_an_empty_digest(make_settings, fake_hf, store):
    settings = make_settings(hf_base_url=fake_hf.url, fallback_days=0)
    full = await pipeline.build(settings, store, date(2026, 2, 13), source="huggingface")
    await pipeline.build(settings, store, date(2026, 3, 1), source="huggingface")  # a day with nothing
    assert (await store.get_digest(date(2026, 3, 1), "ko")).items == []  # type: ignore[union-attr]
    assert await store.find_digest("ko") == full.digest


async def test_falling_back_over_empty_days_says_so_in_one_note(make_settings, fake_hf, store):
    settings = make_settings(hf_base_url=fake_hf.url, fallback_days=3)
    result = await pipeline.build(settings, store, date(2026, 2, 15), source="huggingface", lang="en")
    assert result.digest.notes == [
        "Hugging Face Daily Papers had no new papers for 2026-02-15, 2026-02-14 (a weekend or holiday, or the list "
        "is not complete yet).",
        "So this digest uses the list of 2026-02-13.",
    ]
    assert len(result.digest.sources) == 1 and result.digest.sources[0].day == date(2026, 2, 13)


async def test_papers_in_an_earlier_digest_are_skipped(make_settings, fake_hf, store):
    settings = make_settings(hf_base_url=fake_hf.url)
    first = await pipeline.build(settings, store, date(2026, 2, 13), source="huggingface")
    # The 14th has no list: the fallback to the 13th must not repeat the five already posted.
    second = await pipeline.build(settings, store, date(2026, 2, 14), source="huggingface")
    shown = {i.paper.id for i in first.digest.items}
    assert second.digest.items, second.digest.notes
    assert shown.isdisjoint(i.paper.id for i in second.digest.items)
    assert len(second.digest.items) == 3  # the day had 8 papers
    # A rebuild of the same day is not "an earlier day": it shows the same five again.
    again = await pipeline.build(settings, store, date(2026, 2, 13), source="huggingface")
    assert [i.paper.id for i in again.digest.items] == [i.paper.id for i in first.digest.items]


async def test_sample_source_needs_no_network(make_settings, store):
    result = await pipeline.build(make_settings(), store, date(2026, 2, 2), source="sample")
    assert next(i.paper.id for i in result.digest.items) == "2602.02495"
    assert result.digest.sources[0].name == "arxiv"


async def test_an_empty_rebuild_keeps_the_stored_digest_of_that_day(make_settings, fake_hf, store):
    settings = make_settings(hf_base_url=fake_hf.url, fallback_days=0)
    first = await pipeline.build(settings, store, date(2026, 2, 13), source="huggingface")
    fake_hf.days["2026-02-13"] = []  # the feed has gone empty since
    again = await pipeline.build(settings, store, date(2026, 2, 13), source="huggingface")
    assert again.digest == first.digest
    assert await store.get_digest(date(2026, 2, 13), "ko") == first.digest
    assert again.archive_paths[0].read_text(encoding="utf-8") == first.markdown


def _listed(paper_id: str, upvotes: int, template: dict) -> dict:
    item = json.loads(json.dumps(template))
    item["paper"].update(id=paper_id, upvotes=upvotes)
    return item


async def test_an_arxiv_day_is_ranked_by_hugging_face_votes_where_it_has_them(
    make_settings, fake_hf, fake_arxiv, store
):
    template = fake_hf.days["2026-02-13"][0]
    # Two of the day's arXiv papers reached the Daily Papers list the day after their submission.
    fake_hf.days["2026-02-03"] = [_listed("2602.02486", 40, template), _listed("2602.02493", 90, template)]
    settings = make_settings(hf_base_url=fake_hf.url, arxiv_base_url=fake_arxiv.url)
    result = await pipeline.build(settings, store, date(2026, 2, 2), source="arxiv", lang="en")
    digest = result.digest
    assert [(i.paper.id, i.paper.upvotes) for i in digest.items] == [
        ("2602.02493", 90),
        ("2602.02486", 40),
        ("2602.02495", None),  # then newest first: no vote count is made up for the rest
        ("2602.02494", None),
        ("2602.02488", None),
    ]
    assert digest.sources[-1].ranking == "hf_upvotes"
    assert "ranked by the Hugging Face upvotes of the same papers" in result.markdown
    assert result.markdown.count("**Upvotes**") == 2


async def test_an_arxiv_day_without_votes_is_newest_first_and_prints_no_votes(
    make_settings, fake_hf, fake_arxiv, store
):
    settings = make_settings(hf_base_url=fake_hf.url, arxiv_base_url=fake_arxiv.url)
    result = await pipeline.build(settings, store, date(2026, 2, 2), source="arxiv")
    assert [i.paper.id for i in result.digest.items] == [
        "2602.02495",
        "2602.02494",
        "2602.02493",
        "2602.02488",
        "2602.02486",
    ]
    assert all(i.paper.upvotes is None for i in result.digest.items)
    assert "Upvotes" not in result.markdown and "순위: 최신 제출순" in result.markdown
    assert [c.query["date"] for c in fake_hf.calls] == ["2026-02-02", "2026-02-03", "2026-02-04", "2026-02-05"]
