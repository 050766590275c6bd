"""arXiv API: `{base}/api/query`, cs.AI OR cs.LG submitted on one day, at most one request per interval."""

from __future__ import annotations

import re
from datetime import date, datetime
from xml.etree.ElementTree import Element

import httpx
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from digest.models import ARXIV_ABS_URL, ARXIV_PDF_URL, Paper
from digest.sources import _http
from digest.sources._http import SourceUnavailable

NAME = "arxiv"
NS = {"atom": "http://www.w3.org/2005/Atom", "arxiv": "http://arxiv.org/schemas/atom"}
CATEGORIES = ("cs.AI", "cs.LG")
PAGE_SIZE = 200
MAX_PAGES = 5
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
    comment = _text(entry, "arxiv:comment")
    github = re.search(r"https?://github\.com/[\w.-]+/[\w.-]+", comment + " " + _text(entry, "atom:summary"))
    return Paper(
        id=paper_id,
        version=int(match["version"]) if match["version"] else None,
        title=title,
        abstract=_text(entry, "atom:summary"),
        authors=[_text(a, "atom:name") for a in entry.findall("atom:author", NS)],
        url=ARXIV_ABS_URL.format(id=paper_id),
        arxiv_url=ARXIV_ABS_URL.format(id=paper_id),
        pdf_url=pdf or ARXIV_PDF_URL.format(id=paper_id),
        github=github.group(0).rstrip(".") if github else None,
        published_at=datetime.fromisoformat(published.replace("Z", "+00:00")) if published else None,
        source=NAME,
    )


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
) -> list[Paper]:
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
            break
    return list(papers.values())
