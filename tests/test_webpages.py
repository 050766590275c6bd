"""The web archive through the real app: routes, anchors, escaping, 404s, errors and the Atom feed."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import feedparser
import httpx
import pytest
from starlette.testclient import TestClient

from bot.web import create_app
from digest.links import permalink
from digest.models import Digest
from digest.render import render_markdown
from digest.sections import BRIEF_SECTIONS, LABELS, SECTION_BY_KEY
from digest.settings import Settings
from digest.store import StoreUnavailable
from tests.archive_days import DEMO_DAY, SAMPLE_DAYS, archive, archive_settings, close_store, load_digest, store_for
from tests.fakes.base import ServerThread

__all__ = ["archive"]  # the shared fixture, imported so pytest finds it here


@contextmanager
def client_for(settings: Settings, store: Any = None, **kwargs: Any) -> Iterator[TestClient]:
    store = store or store_for(settings)
    try:
        with TestClient(create_app(settings, store), **kwargs) as client:
            yield client
    finally:
        if hasattr(store, "close"):
            close_store(store)


@pytest.fixture
def client(archive: Path) -> Iterator[TestClient]:
    with client_for(archive_settings(archive)) as c:
        yield c


def ids(html: str) -> list[str]:
    return re.findall(r'\bid="([^"]+)"', html)


def text_of(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def save(settings: Settings, digest: Digest) -> None:
    async def put() -> None:
        store = store_for(settings)
        try:
            await store.save_digest(digest)
        finally:
            await store.close()

    asyncio.run(put())


def test_index_lists_every_digest_newest_first(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    listed = re.findall(r'<a href="/d/(\d{4}-\d{2}-\d{2})">', page.text)
    assert listed == [d.isoformat() for d in sorted(SAMPLE_DAYS, reverse=True)]
    assert 'href="/d/2026-02-13#3"' in page.text  # each title links to its paper's anchor


def test_digest_page_shows_every_part_in_the_report_order(client: TestClient, archive: Path) -> None:
    page = client.get("/d/2026-02-13")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    digest = load_digest(archive)
    html = page.text
    page_ids = ids(html)
    # One anchor per paper and per section, named as the permalink helper names them.
    for item in digest.items:
        assert str(item.rank) in page_ids
        for key in [*(s.key for s in BRIEF_SECTIONS), "links", "tags"]:
            assert permalink(None, DEMO_DAY, item.rank, key).split("#")[1] in page_ids
        assert item.paper.title in html
        assert f'src="{item.paper.thumbnail}"' in html
    # The same parts as the Markdown report, in the same order.
    markers = ["Daily Papers (Top 5)", "오늘의 Top 이슈"]
    markers += [f'id="{i.rank}"' for i in digest.items] + ["오늘의 실무 액션", "원문 목록 (Raw Index)"]
    positions = [html.index(m) for m in markers]
    assert positions == sorted(positions)
    markdown = render_markdown(digest)
    paper3 = markdown[markdown.index("## 3. ") : markdown.index("## 4. ")]
    md_headings = re.findall(r"^### (.+)$", paper3, re.MULTILINE)
    article = html[html.index('id="3"') : html.index('id="4"')]
    page_headings = [text_of(h).strip() for h in re.findall(r"<h3>(.*?)</h3>", article, re.DOTALL)]
    assert page_headings == md_headings
    assert SECTION_BY_KEY["risks"].heading("ko") in page_headings
    # Meta line and usage line; no "not written by the LLM" note (the golden briefs were, for the reference).
    labels = LABELS["ko"]
    for label in (labels["upvotes"], labels["difficulty"], labels["confidence"]):
        assert label in html
    assert "LLM이 쓴 요약이 아닙니다" not in html
    assert "LLM 사용량: 호출 0회" in html
    assert f"<b>{digest.items[2].paper.upvotes}</b>" in html


def test_page_is_self_contained_for_a_strict_csp(client: TestClient) -> None:
    page = client.get("/d/2026-02-13")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "style-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "<script" not in page.text and "style=" not in page.text and "<style" not in page.text
    assert page.headers["x-content-type-options"] == "nosniff"
    css = client.get("/static/archive.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "word-break: keep-all" in css.text and "prefers-color-scheme: dark" in css.text
    assert "@import" not in css.text and "url(" not in css.text  # no outside font or image
    assert client.get("/static/favicon.svg").status_code == 200


def test_english_digest_and_the_language_switch(client: TestClient) -> None:
    en = client.get("/d/2026-02-13?lang=en")
    assert en.status_code == 200
    assert '<html lang="en">' in en.text
    # No LLM wrote it: the abstract as published, said once per paper, and no section nobody wrote.
    assert en.text.count(LABELS["en"]["fallback"].format(source="Hugging Face Daily Papers")) == 5
    assert SECTION_BY_KEY["abstract"].heading("en", "extracted") in en.text
    assert SECTION_BY_KEY["risks"].heading("en") not in en.text
    assert 'href="/d/2026-02-13"' in en.text  # back to Korean
    ko = client.get("/d/2026-02-13")
    assert 'href="/d/2026-02-13?lang=en"' in ko.text
    assert 'href="/d/2026-02-10?lang=en"' not in ko.text  # no English digest that day: no switch offered


def test_day_navigation_links_neighbouring_digests(client: TestClient) -> None:
    page = client.get("/d/2026-02-10").text
    assert 'rel="prev" href="/d/2026-02-02"' in page
    assert 'rel="next" href="/d/2026-02-13"' in page


@pytest.mark.parametrize(
    ("path", "nearest"),
    [
        ("/d/2026-02-12", "/d/2026-02-13"),  # one day after 02-13 beats two days after 02-10
        ("/d/2026-01-20", "/d/2026-01-08"),  # 12 days back beats 13 days ahead
        ("/d/2026-02-06", "/d/2026-02-10"),  # 4 days either way: the later day, with the fresher papers
        ("/d/2030-01-01", "/d/2026-02-13"),
        ("/d/2026-02-10?lang=en", "/d/2026-02-13?lang=en"),
    ],
)
def test_unknown_date_is_a_friendly_404_linking_the_nearest_digest(client: TestClient, path: str, nearest: str) -> None:
    page = client.get(path)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert f'class="nearest" href="{nearest}"' in page.text
    assert page.headers["content-security-policy"]


@pytest.mark.parametrize("path", ["/nope", "/d/not-a-date", "/d/2026-02-30", "/d/20260213", "/d/2026-02-13?lang=fr"])
def test_any_unknown_page_is_a_friendly_404(client: TestClient, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 404
    assert "<h1>" in page.text and "Traceback" not in page.text
    assert 'class="nearest" href="/d/2026-02-13"' in page.text  # the newest digest


def test_paper_and_llm_text_is_escaped(archive: Path, tmp_path: Path) -> None:
    settings = archive_settings(tmp_path)
    digest = load_digest(archive)
    evil = digest.items[2]
    evil.paper.title = '<script>alert("t")</script> & <b>bold</b>'
    evil.brief.risks = ["<img src=x onerror=alert(1)>"]
    evil.brief.one_liner = "</p><script>alert(2)</script>"
    evil.paper.github = "javascript:alert(3)"
    evil.paper.thumbnail = "javascript:alert(4)"
    digest.notes = ["<i>note</i>"]
    save(settings, digest)
    with client_for(settings) as client:
        page = client.get("/d/2026-02-13").text
        feed = client.get("/feed.xml").text
        index = client.get("/").text
    assert "<script" not in page and "<img src=x" not in page and "<i>note" not in page
    assert "&lt;script&gt;alert(&#34;t&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "⚠️ &lt;i&gt;note&lt;/i&gt;" in page
    assert "javascript:" not in page  # neither a link nor an image source
    assert "<script" not in index and "&lt;script&gt;" in index
    parsed = feedparser.parse(feed)
    assert parsed.bozo == 0
    content = parsed.entries[0].content[0].value
    assert "<script" not in content and "&lt;script&gt;" in content


def test_unsupported_numbers_get_their_note_on_that_paper_only(archive: Path, tmp_path: Path) -> None:
    settings = archive_settings(tmp_path)
    digest = load_digest(archive)
    digest.items[1].checks.unsupported_numbers = ["97.3%", "12x"]
    save(settings, digest)
    with client_for(settings) as client:
        html = client.get("/d/2026-02-13").text
    paper2 = html[html.index('id="2"') : html.index('id="3"')]
    assert f"{LABELS['ko']['unsupported']}: 97.3%, 12x" in paper2
    assert html.count(LABELS["ko"]["unsupported"]) == 1


def test_atom_feed_is_valid_with_one_entry_per_day(archive: Path) -> None:
    settings = archive_settings(archive, DIGEST_PUBLIC_URL="https://digest.example.org/")
    with client_for(settings) as client:
        response = client.get("/feed.xml")
        again = client.get("/feed.xml")
    assert response.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(response.text)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    feed = parsed.feed
    assert feed.id == "tag:paper-digest-bot,2026:feed/ko"
    assert feed.title and feed.updated_parsed
    assert any(link.rel == "self" and link.href == "https://digest.example.org/feed.xml" for link in feed.links)
    assert len(parsed.entries) == len(SAMPLE_DAYS)
    for entry, day in zip(parsed.entries, sorted(SAMPLE_DAYS, reverse=True), strict=True):
        assert entry.id == f"tag:paper-digest-bot,2026:digest/{day.isoformat()}/ko"
        assert entry.title == f"{day.isoformat()} Daily Papers (Top 5)"
        assert entry.updated_parsed
        assert entry.link == f"https://digest.example.org/d/{day.isoformat()}"
    first = parsed.entries[0].content[0].value
    assert 'href="https://digest.example.org/d/2026-02-13#3"' in first
    assert [e.id for e in feedparser.parse(again.text).entries] == [e.id for e in parsed.entries]


def test_english_feed_and_relative_host_without_public_url(client: TestClient) -> None:
    parsed = feedparser.parse(client.get("/feed.xml?lang=en").text)
    assert parsed.bozo == 0
    assert [e.link for e in parsed.entries] == ["http://testserver/d/2026-02-13?lang=en"]
    assert parsed.entries[0].id == "tag:paper-digest-bot,2026:digest/2026-02-13/en"


def test_empty_archive_still_serves_a_valid_feed_and_index(tmp_path: Path) -> None:
    with client_for(archive_settings(tmp_path)) as client:
        index = client.get("/")
        parsed = feedparser.parse(client.get("/feed.xml").text)
        missing = client.get("/d/2026-02-13")
    assert index.status_code == 200 and "digestbot build" in index.text
    assert parsed.bozo == 0 and parsed.entries == []
    assert missing.status_code == 404 and 'class="nearest"' not in missing.text


class BrokenStore:
    """A store that fails: with a bug (RuntimeError) or because the backend is down (StoreUnavailable)."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    async def get_digest(self, day: date, lang: str) -> Digest | None:
        raise self.exc

    async def list_dates(self, lang: str) -> list[date]:
        raise self.exc


@pytest.mark.parametrize(
    ("exc", "status"),
    [(RuntimeError("secret internals at /srv/app.py line 3"), 500), (StoreUnavailable("redis down"), 503)],
)
def test_a_failure_is_a_short_page_never_a_stack_trace(tmp_path: Path, exc: Exception, status: int) -> None:
    with client_for(archive_settings(tmp_path), BrokenStore(exc), raise_server_exceptions=False) as client:
        for path in ("/", "/d/2026-02-13", "/feed.xml"):
            page = client.get(path)
            assert page.status_code == status, path
            assert (
                "Traceback" not in page.text and "secret internals" not in page.text and "redis down" not in page.text
            )
            assert "<h1>" in page.text


def test_served_over_real_http_beside_healthz(archive: Path) -> None:
    store = store_for(archive_settings(archive))
    with (
        ServerThread(create_app(archive_settings(archive), store)) as server,
        httpx.Client(base_url=server.url) as http,
    ):
        health = http.get("/healthz").json()
        assert health["ok"] is True and health["last_build"]["date"] == "2026-02-13"
        page = http.get("/d/2026-02-13")
        assert page.status_code == 200 and "DeepGen 1.0" in page.text
        assert http.head("/d/2026-02-13").status_code == 200
        assert http.get("/static/archive.css").status_code == 200
        assert http.get("/d/1999-01-01").status_code == 404
    close_store(store)
