"""arXiv API: `{base}/api/query`, cs.AI OR cs.LG submitted on one day, at most one request per interval."""

from __future__ import annotations

import logging
import re
from datetime import date, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element

import httpx
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from digest.models import ARXIV_ABS_URL, ARXIV_PDF_URL, Paper
from digest.sources import _http
from digest.sources._http import SourceUnavailable
from digest.sources.base import Fetched
from digest.urls import find_urls

if TYPE_CHECKING:
    from digest.settings import Settings

log = logging.getLogger(__name__)

NAME = "arxiv"
NS = {"atom": "http://www.w3.org/2005/Atom", "arxiv": "http://arxiv.org/schemas/atom"}
CATEGORIES = ("cs.AI", "cs.LG")
PAGE_SIZE = 200
# Every page of a day is read, up to this many papers (cs.AI or cs.LG see several hundred a day); past it the
# rest is not seen and the digest says so.
MAX_PAPERS = 2_000
MAX_PAGES = MAX_PAPERS // PAGE_SIZE
CODE_HOSTS = ("github.com", "gitlab.com", "bitbucket.org", "codeberg.org")
_ID = re.compile(r"arxiv\.org/abs/(?P<id>[^\s/]+?/?\d{4,}\.?\d*)(?:v(?P<version>\d+))?$")


# arXiv asks for at most one API request every 3 seconds from one client; shared by every caller here.
_pacer = _http.Pacer()


def search_query(day: date) -> str:
    cats = " OR ".join(f"cat:{c}" for c in CATEGORIES)
    stamp = day.strftime("%Y%m%d")
    return f"({cats}) AND submittedDate:[{stamp}0000 TO {stamp}2359]"


def _text(entry: Element, path: str) -> str:
    node = entry.find(path, NS)
    return (node.text or "") if node is not None else ""


def parse_entry(entry: Element) -> Paper | None:
    match = _ID.search(_text(entry, "atom:id").strip())
    title = _text(entry, "atom:title")
    if not match or not title.strip():
        return None
    paper_id = match["id"]
    pdf = next(
        (
            link.get("href")
            for link in entry.findall("atom:link", NS)
            if link.get("title") == "pdf" or link.get("type") == "application/pdf"
        ),
        None,
    )
    published = _text(entry, "atom:published")
    code, page = comment_links(_text(entry, "arxiv:comment"), _text(entry, "atom:summary"))
    return Paper(
        id=paper_id,
        version=int(match["version"]) if match["version"] else None,
        title=title,
        abstract=_text(entry, "atom:summary"),
        authors=[_text(a, "atom:name") for a in entry.findall("atom:author", NS)],
        url=ARXIV_ABS_URL.format(id=paper_id),
        arxiv_url=ARXIV_ABS_URL.format(id=paper_id),
        pdf_url=pdf or ARXIV_PDF_URL.format(id=paper_id),
        github=code,
        project_page=page,
        published_at=datetime.fromisoformat(published.replace("Z", "+00:00")) if published else None,
        source=NAME,
    )


def comment_links(comment: str, abstract: str = "") -> tuple[str | None, str | None]:
    """(code, project page) named by the authors: every URL in the comment (`Code: …`, `Project Pages: …`), and a
    code repository named in the abstract. A URL on a code host, or after the word "code", is the code."""
    code = page = None
    named = [(found.url, comment[max(0, found.start - 24) : found.start]) for found in find_urls(comment)]
    named += [(found.url, "") for found in find_urls(abstract) if _on_code_host(found.url)]
    for url, before in named:
        if not url.lower().startswith(("http://", "https://")):
            url = "https://" + url
        if _on_code_host(url) or "code" in before.lower():
            code = code or url
        else:
            page = page or url
    return code, page


def _on_code_host(url: str) -> bool:
    host = urlsplit(url if "://" in url else "https://" + url).hostname or ""
    return host.removeprefix("www.") in CODE_HOSTS


def parse(xml: bytes) -> tuple[list[Paper], int | None]:
    """Papers in the feed and opensearch:totalResults. Raises ValueError on anything but an Atom feed."""
    try:
        root = ElementTree.fromstring(xml)
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise ValueError(f"not XML: {exc}") from None
    if root.tag != f"{{{NS['atom']}}}feed":
        raise ValueError(f"not an Atom feed (root element {root.tag})")
    total = root.findtext("{http://a9.com/-/spec/opensearch/1.1/}totalResults")
    papers = [p for p in map(parse_entry, root.findall("atom:entry", NS)) if p is not None]
    return papers, int(total) if total and total.strip().isdigit() else None


def _submitted_on(paper: Paper, day: date) -> bool:
    return paper.published_at is None or paper.published_at.date() == day


async def fetch(
    client: httpx.AsyncClient,
    base_url: str,
    day: date,
    *,
    min_interval_s: float = 3.0,
    retries: int = 4,
    backoff_s: float = 1.0,
) -> Fetched:
    url = base_url.rstrip("/") + "/api/query"
    papers: dict[str, Paper] = {}
    for page in range(MAX_PAGES):
        params = {
            "search_query": search_query(day),
            "sortBy": "submittedDate",
            "sortOrder": "descending",
            "start": page * PAGE_SIZE,
            "max_results": PAGE_SIZE,
        }
        await _pacer.wait(min_interval_s)
        response = await _http.get(client, url, source=NAME, params=params, retries=retries, backoff_s=backoff_s)
        try:
            batch, _total = parse(response.content)
        except ValueError as exc:
            raise SourceUnavailable(NAME, f"malformed response ({exc})") from None
        for paper in batch:
            if _submitted_on(paper, day):
                papers.setdefault(paper.id, paper)
        if len(batch) < PAGE_SIZE:
            return Fetched(NAME, list(papers.values()))
    log.warning("arxiv: %s lists more than %d papers; only the first %d were read", day, MAX_PAPERS, MAX_PAPERS)
    return Fetched(NAME, list(papers.values()), capped=MAX_PAPERS)


class Arxiv:
    """cs.AI or cs.LG papers submitted on one day. arXiv counts no votes: the pipeline asks a VoteLookup."""

    name = NAME

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        *,
        min_interval_s: float = 3.0,
        retries: int = 4,
        backoff_s: float = 1.0,
    ) -> None:
        self.client = client
        self.base_url = base_url
        self.min_interval_s = min_interval_s
        self.retries = retries
        self.backoff_s = backoff_s

    @classmethod
    def from_settings(cls, settings: Settings, client: httpx.AsyncClient) -> Arxiv:
        return cls(
            client,
            settings.arxiv_base_url,
            min_interval_s=settings.arxiv_min_interval_s,
            retries=settings.http_retries,
            backoff_s=settings.http_backoff_s,
        )

    async def fetch(self, day: date) -> Fetched:
        return await fetch(
            self.client,
            self.base_url,
            day,
            min_interval_s=self.min_interval_s,
            retries=self.retries,
            backoff_s=self.backoff_s,
        )
