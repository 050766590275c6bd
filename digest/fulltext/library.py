"""Full text by (id, version): the store first, then arXiv, then into the store, so each version is read once.

What is remembered and for how long (TTL_S): an HTML parse for 90 days (a version never changes); a PDF parse
for 3 days, since arXiv renders HTML some time after a paper appears and the HTML has the figures; "no full
text" for 1 day. A failure that may pass (arXiv down, 5xx, 429 after retries) is not remembered, and once one
happens the remaining papers of the build are not asked for (arXiv is having trouble; asking again is rude).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from digest.figures import shown_figures
from digest.fulltext.fetch import Unreachable, fetch_fulltext, make_client
from digest.fulltext.model import Entry, FullText, NoFullText
from digest.fulltext.ref import DEFAULT_VERSION, is_arxiv_id
from digest.models import Paper
from digest.settings import Settings
from digest.store.base import FullTextStore, StoreUnavailable

log = logging.getLogger(__name__)

DAY_S = 86400.0
TTL_S = {"html": 90 * DAY_S, "pdf": 3 * DAY_S, "none": 1 * DAY_S}
# The whole full-text step of a build; papers not done by then have no figures this time (nothing is remembered).
STEP_DEADLINE_S = 180.0

Progress = Callable[[str], None]


def ttl_s(entry: Entry) -> float:
    return TTL_S[entry.source] if isinstance(entry, FullText) else TTL_S["none"]


@dataclass
class Lookup:
    entry: Entry
    cached: bool  # from the store: no request was made


class FullTexts:
    """Get full texts for one job (a build, a command); the HTTP client and "arXiv is down" live as long as it."""

    def __init__(
        self, settings: Settings, store: FullTextStore | None, *, client: httpx.AsyncClient | None = None
    ) -> None:
        self.settings = settings
        self.store = store
        self._own_client = client is None
        self._client = client or make_client(settings.http_timeout_s)
        self._down: str | None = None

    async def __aenter__(self) -> FullTexts:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    async def cached(self, paper_id: str, version: int) -> Entry | None:
        if self.store is None:
            return None
        try:
            return await self.store.get_fulltext(paper_id, version)
        except StoreUnavailable as exc:
            log.warning("full text of %sv%d: store unavailable, fetching (%s)", paper_id, version, exc)
            return None

    async def get(self, paper_id: str, version: int | None = None) -> Lookup:
        version = version or DEFAULT_VERSION
        if not is_arxiv_id(paper_id):
            return Lookup(NoFullText(paper_id=paper_id, version=version, reason="not an arXiv id", lasting=False), False)
        found = await self.cached(paper_id, version)
        if found is not None:
            return Lookup(found, True)
        if self._down is not None:
            reason = f"arXiv unavailable ({self._down})"
            return Lookup(NoFullText(paper_id=paper_id, version=version, reason=reason, lasting=False), False)
        try:
            entry = await fetch_fulltext(
                self._client,
                self.settings.arxiv_web_base_url,
                paper_id,
                version,
                min_interval_s=self.settings.arxiv_web_min_interval_s,
                retries=self.settings.http_retries,
                backoff_s=self.settings.http_backoff_s,
            )
        except Unreachable as exc:
            self._down = exc.reason
            log.warning("full text of %sv%d: arXiv unavailable: %s", paper_id, version, exc.reason)
            reason = f"arXiv unavailable ({exc.reason})"
            return Lookup(NoFullText(paper_id=paper_id, version=version, reason=reason, lasting=False), False)
        if self.store is not None:
            try:
                await self.store.put_fulltext(entry, ttl_s(entry))
            except StoreUnavailable as exc:
                log.warning("full text of %sv%d not stored: %s", paper_id, version, exc)
        return Lookup(entry, False)


@dataclass
class FullTextStep:
    """What the build's full-text step found, by paper id."""

    entries: dict[str, Entry] = field(default_factory=dict)

    def item_fields(self, paper_id: str) -> dict[str, Any]:
        """The Item fields for this paper: its first figures and the full-text version (nothing without one)."""
        entry = self.entries.get(paper_id)
        if not isinstance(entry, FullText):
            return {}
        return {"figures": shown_figures(entry.figures), "fulltext_version": entry.version}


def wanted(settings: Settings, source: str, enabled: bool | None = None) -> bool:
    """Whether a build fetches full text: always for real sources; for the offline sample source only when
    DIGEST_ARXIV_WEB_BASE_URL names another server than arXiv (a mirror, a test server), so `digestbot demo`
    stays offline."""
    if enabled is not None:
        return enabled
    default = Settings.model_fields["arxiv_web_base_url"].default
    return source != "sample" or settings.arxiv_web_base_url.rstrip("/") != default


def describe(entry: Entry) -> str:
    if isinstance(entry, NoFullText):
        return f"no full text: {entry.reason}"
    cut = ", truncated" if entry.truncated else ""
    return f"{entry.source}, {len(entry.sections)} sections, {len(entry.figures)} figures{cut}"


async def fetch_for_papers(
    settings: Settings,
    store: FullTextStore | None,
    papers: Iterable[Paper],
    progress: Progress,
    *,
    deadline_s: float = STEP_DEADLINE_S,
) -> FullTextStep:
    """The full text of each paper, concurrently (the pacer keeps it to one request per interval). Never raises:
    a paper whose full text cannot be had simply has none."""
    step = FullTextStep()
    papers = list(papers)
    if not papers:
        return step
    try:
        async with FullTexts(settings, store) as library:
            tasks = {asyncio.create_task(library.get(p.id, p.version)): p for p in papers}
            done, pending = await asyncio.wait(tasks, timeout=deadline_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
    except Exception:  # the step is an extra: a bug here must not cost the morning digest
        log.exception("full-text step failed")
        progress("full text: failed (see the log); the digest has no figures")
        return step
    cached = asked = 0
    for task, paper in tasks.items():
        if task not in done:
            progress(f"full text: {paper.id}: not done within {deadline_s:.0f} s, skipped")
            continue
        if (error := task.exception()) is not None:
            log.error("full text of %s failed", paper.id, exc_info=error)
            progress(f"full text: {paper.id}: failed ({type(error).__name__})")
            continue
        lookup: Lookup = task.result()
        step.entries[paper.id] = lookup.entry
        cached += lookup.cached
        asked += not lookup.cached
        origin = "from the store" if lookup.cached else "fetched"
        progress(f"full text: {lookup.entry.ref}: {describe(lookup.entry)} ({origin})")
    found = sum(isinstance(e, FullText) for e in step.entries.values())
    progress(f"full text: {found} of {len(papers)} papers ({cached} from the store, {asked} asked arXiv)")
    return step
