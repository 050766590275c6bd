"""The build's full-text step: figures of the 2026-01-08 day from the fake arXiv web server, read once."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from markdown_it import MarkdownIt

from digest import pipeline
from digest.fulltext import library
from digest.settings import Settings
from digest.store.redis import RedisStore
from tests.fakes.base import Fault

DAY = date(2026, 1, 8)
PSN, KLEAR = "2601.03509", "2601.04151"


def section_of(markdown: str, rank: int) -> str:
    start = markdown.index(f"## {rank}. ")
    end = markdown.index("\n---\n", start)
    return markdown[start:end]


async def test_the_day_shows_figures_for_the_paper_that_has_them_and_a_rebuild_asks_nothing(
    make_settings, fake_arxiv_web, store
):
    fake_arxiv_web.fail_next(Fault(status=429, headers={"Retry-After": "1"}, path=f"/html/{KLEAR}v1"))
    settings = make_settings(arxiv_web_base_url=fake_arxiv_web.url)
    progress: list[str] = []
    result = await pipeline.build(settings, store, DAY, source="sample", progress=progress.append)

    items = {i.paper.id: i for i in result.digest.items}
    base = f"{fake_arxiv_web.url}/html/{PSN}v1"
    assert [(f.number, f.image_url, f.anchor) for f in items[PSN].figures] == [
        ("1", f"{base}/x1.png", "S1.F1"),
        ("2", f"{base}/x2.png", "S2.F2"),
    ]
    assert {paper_id for paper_id, item in items.items() if item.figures} == {PSN}
    versions = {paper_id: item.fulltext_version for paper_id, item in items.items()}
    assert versions == {"2601.02151": 1, PSN: 1, "2601.03872": 1, "2601.03986": None, KLEAR: 1}
    assert f"full text: {PSN}v1: html, 7 sections, 3 figures (fetched)" in progress
    assert "full text: 2601.03986v1: no full text: no HTML rendering (HTTP 404); no PDF (HTTP 404) (fetched)" in progress
    assert "full text: 4 of 5 papers (0 from the store, 5 asked arXiv)" in progress

    psn = section_of(result.markdown, items[PSN].rank)
    assert (
        "### 🖼️ 추가 자료\n"
        f"![그림 1]({base}/x1.png)\n\n"
        "*그림 1.* Overview of the Programmatic Skill Network. Skills are executable programs linked by calls; "
        "REFLECT localises faults, gated updates stabilise mature skills, and refactoring keeps the network compact.\n\n"
        f"![그림 2]({base}/x2.png)\n\n"
        "*그림 2.* Skill reuse over the course of training in MineDojo (a) and Crafter (b).\n\n"
        "### 🔗 참고 링크\n"
    ) in psn
    assert result.markdown.count("🖼️") == 1
    tokens = MarkdownIt("commonmark").parse(psn)
    images = [c.attrs["src"] for t in tokens for c in t.children or [] if c.type == "image"]
    assert images[1:] == [f"{base}/x1.png", f"{base}/x2.png"]  # after the thumbnail

    asked = fake_arxiv_web.requests()
    assert asked.count(f"/html/{KLEAR}v1") == 2  # the 429, then the page
    again = await pipeline.build(settings, store, DAY, source="sample", progress=progress.append)
    english = await pipeline.build(settings, store, DAY, source="sample", lang="en")
    assert fake_arxiv_web.requests() == asked  # the rebuild and the other language asked arXiv nothing
    assert "full text: 4 of 5 papers (5 from the store, 0 asked arXiv)" in progress
    assert [i.figures for i in again.digest.items] == [i.figures for i in result.digest.items]
    assert f"### 🖼️ Figures\n![Figure 1]({base}/x1.png)\n\n*Figure 1.* Overview of the" in english.markdown


async def test_arxiv_down_costs_the_figures_not_the_digest(make_settings, store):
    settings = make_settings()  # the arXiv web URL is a closed port
    progress: list[str] = []
    result = await pipeline.build(settings, store, DAY, source="sample", progress=progress.append)
    assert len(result.digest.items) == 5 and result.stored
    assert all(not i.figures and i.fulltext_version is None for i in result.digest.items)
    assert "🖼️" not in result.markdown
    assert "full text: 0 of 5 papers (0 from the store, 5 asked arXiv)" in progress
    assert await store.get_fulltext(PSN, 1) is None  # nothing remembered: the next build tries again


async def test_a_store_that_is_down_still_gets_the_figures_into_the_archived_digest(
    make_settings, fake_arxiv_web, tmp_path: Path
):
    settings = make_settings(arxiv_web_base_url=fake_arxiv_web.url)
    store = RedisStore("redis://127.0.0.1:9/0", socket_timeout_s=0.2, connect_timeout_s=0.2)
    try:
        result = await pipeline.build(settings, store, DAY, source="sample")
    finally:
        await store.close()
    assert not result.stored
    assert next(i for i in result.digest.items if i.paper.id == PSN).figures
    assert "### 🖼️ 추가 자료" in result.archive_paths[0].read_text(encoding="utf-8")


def test_the_offline_sample_source_fetches_full_text_only_from_another_server_than_arxiv(tmp_path: Path):
    plain = Settings(DIGEST_DATA_DIR=tmp_path)  # type: ignore[call-arg]
    arxiv = Settings(DIGEST_DATA_DIR=tmp_path, DIGEST_ARXIV_WEB_BASE_URL="https://arxiv.org/")  # type: ignore[call-arg]
    named = Settings(DIGEST_DATA_DIR=tmp_path, DIGEST_ARXIV_WEB_BASE_URL="http://127.0.0.1:9")  # type: ignore[call-arg]
    assert not library.wanted(plain, "sample") and not library.wanted(arxiv, "sample")  # `digestbot demo` is offline
    assert library.wanted(named, "sample")
    assert library.wanted(plain, "huggingface") and library.wanted(plain, "auto")
    assert not library.wanted(plain, "huggingface", enabled=False)
