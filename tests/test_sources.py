from __future__ import annotations

import itertools
import json
import random
from datetime import date

import httpx
import pytest

from digest import pipeline
from digest.settings import ConfigError, load_settings
from digest.sources import arxiv, huggingface, registry, sample
from digest.sources._http import Pacer, SourceUnavailable, retry_after_seconds
from tests.fakes.base import Fault, ServerThread
from tests.fakes.papers import FakeHuggingFace

DAY = date(2026, 2, 13)


async def fetch_hf(url: str, day: date = DAY, retries: int = 2, timeout_s: float = 30.0) -> list:
    """A generous timeout by default: only the timeout test relies on one, and there every attempt times out."""
    async with httpx.AsyncClient(timeout=timeout_s) as client:
        return (await huggingface.fetch(client, url, day, retries=retries, backoff_s=0.01)).papers


async def test_hf_parses_the_raw_json(fake_hf):
    papers = {p.id: p for p in await fetch_hf(fake_hf.url)}
    assert len(papers) == 8
    deepgen = papers["2602.12205"]
    assert deepgen.upvotes == 69
    assert deepgen.title.startswith("DeepGen 1.0")
    assert deepgen.url == "https://huggingface.co/papers/2602.12205"
    assert deepgen.pdf_url == "https://arxiv.org/pdf/2602.12205"
    assert deepgen.ai_keywords and deepgen.ai_summary
    assert fake_hf.calls[0].query == {"date": "2026-02-13", "p": "0", "limit": "100"}


async def test_hf_drops_withdrawn_papers_and_reads_organization_at_either_level(fake_hf):
    items = fake_hf.days["2026-02-13"]
    items[0]["paper"]["withdrawnAt"] = "2026-02-14T00:00:00.000Z"
    items[1]["organization"] = {"name": "acme", "fullname": "Acme Research"}
    items[2]["paper"]["organization"] = {"name": "lab"}
    papers = {p.id: p for p in await fetch_hf(fake_hf.url)}
    assert items[0]["paper"]["id"] not in papers
    assert papers[items[1]["paper"]["id"]].organization == "Acme Research"
    assert papers[items[2]["paper"]["id"]].organization == "lab"


async def test_hf_follows_pages():
    fake = FakeHuggingFace()
    template = fake.days["2026-02-13"][0]
    many = []
    for n in range(150):
        item = json.loads(json.dumps(template))
        item["paper"]["id"] = f"2602.{n:05d}"
        many.append(item)
    fake.days["2026-02-13"] = many
    with ServerThread(fake.app) as server:
        papers = await fetch_hf(server.url)
    assert len(papers) == 150
    assert [c.query["p"] for c in fake.calls] == ["0", "1"]


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_hf_retries_transient_errors(fake_hf, status):
    fake_hf.fail_next(Fault(status=status, headers={"Retry-After": "0"}), Fault(status=status))
    papers = await fetch_hf(fake_hf.url, retries=2)
    assert len(papers) == 8
    assert len(fake_hf.calls) == 3


async def test_hf_honours_retry_after(fake_hf):
    fake_hf.fail_next(Fault(status=429, headers={"Retry-After": "1"}))
    await fetch_hf(fake_hf.url)
    gap = fake_hf.calls[1].at - fake_hf.calls[0].at  # the second arrives after the first's answer plus the wait
    assert gap >= 0.9, f"retried after {gap:.2f}s despite Retry-After: 1"
    assert len(fake_hf.calls) == 2


async def test_hf_retries_a_timeout_then_reports_the_source(fake_hf):
    fake_hf.fail_next(*[Fault(delay_s=1.5) for _ in range(3)])
    with pytest.raises(SourceUnavailable) as err:
        await fetch_hf(fake_hf.url, retries=2, timeout_s=0.5)
    assert err.value.source == "huggingface"
    assert "timed out" in err.value.reason


async def test_hf_malformed_json_is_reported_not_crashed(fake_hf):
    fake_hf.fail_next(Fault(status=200, body=b"{not json", headers={"content-type": "application/json"}))
    with pytest.raises(SourceUnavailable, match="malformed"):
        await fetch_hf(fake_hf.url)


async def test_hf_client_error_is_not_retried(fake_hf):
    fake_hf.fail_next(Fault(status=404, body={"error": "nope"}))
    with pytest.raises(SourceUnavailable, match="HTTP 404"):
        await fetch_hf(fake_hf.url)
    assert len(fake_hf.calls) == 1


def test_retry_after_accepts_seconds_and_http_dates():
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert retry_after_seconds("soon") is None


async def test_arxiv_parses_atom_and_asks_for_the_day(fake_arxiv):
    async with httpx.AsyncClient() as client:
        papers = (await arxiv.fetch(client, fake_arxiv.url, date(2026, 2, 2), min_interval_s=0)).papers
    assert [p.id for p in papers] == ["2602.02495", "2602.02494", "2602.02493", "2602.02488", "2602.02486"]
    first = papers[0]
    assert first.version == 1
    assert first.title == "Reward-free Alignment for Conflicting Objectives"
    assert first.pdf_url == "https://arxiv.org/pdf/2602.02495v1"
    assert first.url == "https://arxiv.org/abs/2602.02495"
    assert len(first.authors) >= 1 and "\n" not in first.title
    query = fake_arxiv.calls[0].query["search_query"]
    assert "cat:cs.AI OR cat:cs.LG" in query and "submittedDate:[202602020000 TO 202602022359]" in query


class SteppedClock:
    """Time that moves only when the pacer sleeps: the pacing is checked exactly, with no wall-clock margin."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sent: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds

    async def on_request(self, request: httpx.Request) -> None:
        self.sent.append(self.now)


async def test_arxiv_keeps_one_request_per_interval(fake_arxiv, monkeypatch):
    clock = SteppedClock()
    monkeypatch.setattr(arxiv, "_pacer", Pacer(clock=clock, sleep=clock.sleep))
    async with httpx.AsyncClient(event_hooks={"request": [clock.on_request]}) as client:
        for _ in range(3):
            await arxiv.fetch(client, fake_arxiv.url, date(2026, 2, 2), min_interval_s=0.4)
            clock.now += 0.1  # the caller's own work between fetches counts toward the interval
    assert len(fake_arxiv.calls) == 3
    assert [round(b - a, 6) for a, b in itertools.pairwise(clock.sent)] == [0.4, 0.4]


async def test_arxiv_rejects_html_as_malformed(fake_arxiv):
    fake_arxiv.fail_next(Fault(status=200, body=b"<html><body>maintenance</body></html>"))
    async with httpx.AsyncClient() as client:
        with pytest.raises(SourceUnavailable, match="not an Atom feed"):
            await arxiv.fetch(client, fake_arxiv.url, date(2026, 2, 2), min_interval_s=0)


def hf_items(count: int, day: str = "2026-02-13") -> list[dict]:
    """`count` distinct papers for the fake Daily Papers list, paper n with n upvotes, in a shuffled order."""
    template = FakeHuggingFace().days[day][0]
    items = []
    for n in range(count):
        item = json.loads(json.dumps(template))
        item["paper"].update(id=f"2602.{n:05d}", upvotes=n, title=f"Paper {n}")
        items.append(item)
    random.Random(7).shuffle(items)
    return items


async def test_a_day_of_5000_papers_is_read_whole_and_its_true_top_5_picked(make_settings, store):
    fake = FakeHuggingFace()
    fake.days["2026-02-13"] = hf_items(5000)
    with ServerThread(fake.app) as server:
        settings = make_settings(hf_base_url=server.url)
        result = await pipeline.build(settings, store, DAY, source="huggingface")
    assert [i.paper.upvotes for i in result.digest.items] == [4999, 4998, 4997, 4996, 4995]
    assert result.digest.sources[0].fetched == 5000
    assert len(fake.calls) == 51 and not result.digest.notes  # 50 full pages, then a short one ends the day


async def test_a_list_longer_than_the_maximum_is_cut_with_a_warning_and_a_note(
    make_settings, store, monkeypatch, caplog
):
    monkeypatch.setattr(huggingface, "MAX_PAGES", 3)  # the documented maximum is 10,000: 100 pages
    fake = FakeHuggingFace()
    fake.days["2026-02-13"] = hf_items(450)
    with ServerThread(fake.app) as server:
        settings = make_settings(hf_base_url=server.url)
        result = await pipeline.build(settings, store, DAY, source="huggingface", lang="en")
    assert result.digest.sources[0].fetched == 300 and len(fake.calls) == 3
    assert any("only its first 10,000 papers were read" in n for n in result.digest.notes)
    assert any("only the first" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")


def test_code_and_project_links_in_the_arxiv_comment_become_the_papers_links():
    _, papers = sample.fetch(date(2026, 2, 2))
    pixelgen = next(p for p in papers if p.id == "2602.02493")
    assert pixelgen.project_page == "https://zehong-ma.github.io/PixelGen/"
    assert ("Project page", "https://zehong-ma.github.io/PixelGen/") in pixelgen.links()
    code, page = arxiv.comment_links(
        "Accepted at ICML. Code: https://gitlab.com/lab/tool). Demo at https://lab.example/demo.", ""
    )
    assert (code, page) == ("https://gitlab.com/lab/tool", "https://lab.example/demo")
    assert arxiv.comment_links("", "We release it at https://github.com/a/b.") == ("https://github.com/a/b", None)


def test_every_source_is_made_through_the_registry_and_an_unknown_name_is_refused(make_settings):
    settings = make_settings()
    assert registry.chain("auto") == ("huggingface", "arxiv")
    assert registry.chain("arxiv") == ("arxiv",)
    assert set(registry.CHOICES) == {"auto", "huggingface", "arxiv", "sample"}
    with pytest.raises(registry.UnknownSource, match="'openreview' is not a source; use one of auto, huggingface"):
        registry.chain("openreview")
    with pytest.raises(ConfigError, match=r"DIGEST_SOURCE .*'openreview' is not a source"):
        load_settings(DIGEST_SOURCE="openreview", DIGEST_DATA_DIR=settings.data_dir)
