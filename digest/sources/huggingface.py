"""Hugging Face Daily Papers: `GET {base}/api/daily_papers?date=YYYY-MM-DD&p=N&limit=M`."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import ValidationError

from digest.models import ARXIV_ABS_URL, ARXIV_PDF_URL, HF_PAPER_URL, Paper
from digest.sources import _http
from digest.sources._http import SourceUnavailable
from digest.sources.base import Fetched

if TYPE_CHECKING:
    from digest.settings import Settings

log = logging.getLogger(__name__)

NAME = "huggingface"
PAGE_SIZE = 100
# Every page of a day is read, up to this many papers (a busy day lists a few hundred). Past it the rest of
# the day is not seen: a logged warning and a note in the digest say so, and a server that pages forever stops.
MAX_PAPERS = 10_000
MAX_PAGES = MAX_PAPERS // PAGE_SIZE
# An arXiv paper reaches the Daily Papers list a few days after its submission: the days searched for its votes.
VOTE_LOOKAHEAD_DAYS = 3


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
) -> Fetched:
    """Every paper of `day`, all pages up to MAX_PAPERS; duplicates across pages are dropped."""
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
            return Fetched(NAME, list(seen.values()))
    log.warning("huggingface: %s lists more than %d papers; only the first %d were read", day, MAX_PAPERS, MAX_PAPERS)
    return Fetched(NAME, list(seen.values()), capped=MAX_PAPERS)


class HuggingFace:
    """The Daily Papers list; its votes also rank the papers of sources that have none (arXiv)."""

    name = NAME

    def __init__(self, client: httpx.AsyncClient, base_url: str, *, retries: int = 4, backoff_s: float = 1.0) -> None:
        self.client = client
        self.base_url = base_url
        self.retries = retries
        self.backoff_s = backoff_s

    @classmethod
    def from_settings(cls, settings: Settings, client: httpx.AsyncClient) -> HuggingFace:
        return cls(client, settings.hf_base_url, retries=settings.http_retries, backoff_s=settings.http_backoff_s)

    async def fetch(self, day: date) -> Fetched:
        return await fetch(self.client, self.base_url, day, retries=self.retries, backoff_s=self.backoff_s)

    async def votes(self, ids: set[str], day: date) -> dict[str, int]:
        """Upvotes of the papers among `ids` that the lists of `day` and the VOTE_LOOKAHEAD_DAYS after it show."""
        found: dict[str, int] = {}
        for offset in range(VOTE_LOOKAHEAD_DAYS + 1):
            listed = await self.fetch(day + timedelta(days=offset))
            for paper in listed.papers:
                if paper.id in ids and paper.upvotes is not None:
                    found[paper.id] = max(found.get(paper.id, 0), paper.upvotes)
            if len(found) == len(ids):
                break
        return found
