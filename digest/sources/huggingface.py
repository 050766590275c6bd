"""Hugging Face Daily Papers: `GET {base}/api/daily_papers?date=YYYY-MM-DD&p=N&limit=M`."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

import httpx
from pydantic import ValidationError

from digest.models import ARXIV_ABS_URL, ARXIV_PDF_URL, HF_PAPER_URL, Paper
from digest.sources import _http
from digest.sources._http import SourceUnavailable

log = logging.getLogger(__name__)

NAME = "huggingface"
PAGE_SIZE = 100
MAX_PAGES = 10  # a day has well under 1,000 papers; stop a server that pages forever


def _as_int(value: Any) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def _as_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _organization(item: dict[str, Any], paper: dict[str, Any]) -> str | None:
    org = paper.get("organization") or item.get("organization")
    if isinstance(org, dict):
        org = org.get("fullname") or org.get("name")
    return org if isinstance(org, str) and org.strip() else None


def _url(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip().startswith(("http://", "https://")) else None


def is_withdrawn(item: dict[str, Any]) -> bool:
    paper = item.get("paper") or {}
    return bool(paper.get("withdrawnAt") or item.get("withdrawnAt") or paper.get("withdrawn") or item.get("withdrawn"))


def parse_item(item: Any) -> Paper | None:
    """One element of the daily_papers list; None when it is withdrawn or unusable."""
    if not isinstance(item, dict) or not isinstance(item.get("paper"), dict):
        return None
    if is_withdrawn(item):
        return None
    paper: dict[str, Any] = item["paper"]
    paper_id = str(paper.get("id") or "").strip()
    title = paper.get("title") or item.get("title")
    if not paper_id or not title:
        return None
    authors = [a.get("name", "") for a in paper.get("authors") or [] if isinstance(a, dict) and not a.get("hidden")]
    keywords = paper.get("ai_keywords") or []
    try:
        return Paper(
            id=paper_id,
            title=title,
            abstract=paper.get("summary") or item.get("summary") or "",
            authors=authors,
            url=HF_PAPER_URL.format(id=paper_id),
            arxiv_url=ARXIV_ABS_URL.format(id=paper_id),
            pdf_url=ARXIV_PDF_URL.format(id=paper_id),
            thumbnail=_url(item.get("thumbnail")),
            github=_url(paper.get("githubRepo")),
            project_page=_url(paper.get("projectPage")),
            upvotes=_as_int(paper.get("upvotes")),
            comments=_as_int(item.get("numComments")),
            published_at=_as_datetime(paper.get("publishedAt")),
            organization=_organization(item, paper),
            ai_summary=paper.get("ai_summary") if isinstance(paper.get("ai_summary"), str) else None,
            ai_keywords=[k for k in keywords if isinstance(k, str)] if isinstance(keywords, list) else [],
            source=NAME,
        )
    except ValidationError as exc:
        log.warning("huggingface: skipping paper %s: %s", paper_id, exc.errors()[0].get("msg"))
        return None


def parse(payload: Any) -> list[Paper]:
    if not isinstance(payload, list):
        raise ValueError(f"expected a JSON list, got {type(payload).__name__}")
    return [p for p in map(parse_item, payload) if p is not None]


async def fetch(
    client: httpx.AsyncClient, base_url: str, day: date, *, retries: int = 4, backoff_s: float = 1.0
) -> list[Paper]:
    """Every paper of `day`, all pages; duplicates across pages are dropped."""
    url = base_url.rstrip("/") + "/api/daily_papers"
    seen: dict[str, Paper] = {}
    for page in range(MAX_PAGES):
        params = {"date": day.isoformat(), "p": page, "limit": PAGE_SIZE}
        response = await _http.get(client, url, source=NAME, params=params, retries=retries, backoff_s=backoff_s)
        try:
            payload = response.json()
            papers = parse(payload)
        except ValueError as exc:
            raise SourceUnavailable(NAME, f"malformed response ({exc})") from None
        for paper in papers:
            seen.setdefault(paper.id, paper)
        if len(payload) < PAGE_SIZE:
            break
    return list(seen.values())
