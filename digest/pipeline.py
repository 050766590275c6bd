"""build(day) -> Digest: sources -> select -> full text -> summarize -> verify -> store + archive."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Literal

import httpx

from digest import select
from digest.fulltext import library as fulltext
from digest.models import Digest, Item, Lang, Paper, SourceReport
from digest.render import render_markdown
from digest.settings import Settings
from digest.sources import arxiv, huggingface, sample
from digest.sources._http import SourceUnavailable
from digest.store import Store, StoreUnavailable
from digest.summarize import OfflineSummarizer, Summarizer, usage_line

log = logging.getLogger(__name__)

SourceChoice = Literal["auto", "huggingface", "arxiv", "sample"]
Progress = Callable[[str], None]
USER_AGENT = "paper-digest-bot/0.1 (+https://github.com/paper-digest-bot)"

_NOTES: dict[Lang, dict[str, str]] = {
    "ko": {
        "source_down": "{source} 수집 실패({reason}): {other}에서 가져왔습니다.",
        "empty": "{day}에는 {source} 목록에 새 논문이 없습니다(주말·휴일이거나 목록이 아직 채워지지 않았을 수 있습니다).",
        "all_seen": "{day}의 논문은 모두 이전 다이제스트에 이미 실렸습니다.",
        "fell_back": "그래서 {day} 목록에서 골랐습니다.",
        "nothing": "{first}부터 {last}까지 보여줄 새 논문이 없어 이번 다이제스트는 비어 있습니다.",
        "few": "새 논문이 {count}편뿐이라 {count}편만 실었습니다.",
    },
    "en": {
        "source_down": "{source} was unavailable ({reason}); papers came from {other}.",
        "empty": "{source} had no new papers for {day} (a weekend or holiday, or the list is not complete yet).",
        "all_seen": "Every paper of {day} was already in an earlier digest.",
        "fell_back": "So this digest uses the list of {day}.",
        "nothing": "No new papers from {first} back to {last}, so this digest is empty.",
        "few": "Only {count} new papers, so only {count} are shown.",
    },
}


class BuildFailed(Exception):
    """The build could not produce a digest; the message says why and what to do."""


@dataclass
class Collected:
    papers: list[Paper]
    reports: list[SourceReport]
    papers_day: date | None
    notes: list[str] = field(default_factory=list)


@dataclass
class BuildResult:
    digest: Digest
    markdown: str
    archive_paths: tuple[Path, Path]
    stored: bool
    store_error: str | None = None


def _no_progress(_: str) -> None:
    return None


async def _fetch_one(name: str, day: date, settings: Settings, client: httpx.AsyncClient) -> list[Paper]:
    if name == huggingface.NAME:
        return await huggingface.fetch(
            client, settings.hf_base_url, day, retries=settings.http_retries, backoff_s=settings.http_backoff_s
        )
    return await arxiv.fetch(
        client,
        settings.arxiv_base_url,
        day,
        min_interval_s=settings.arxiv_min_interval_s,
        retries=settings.http_retries,
        backoff_s=settings.http_backoff_s,
    )


async def _fetch_day(
    day: date, source: SourceChoice, settings: Settings, client: httpx.AsyncClient, lang: Lang, progress: Progress
) -> tuple[str, list[Paper], list[SourceReport], list[str]]:
    """Papers of one day from the chosen source; in auto mode arXiv stands in when Hugging Face is down."""
    if source == "sample":
        name, papers = sample.fetch(day)
        progress(f"sample data: {len(papers)} papers for {day}")
        return name, papers, [SourceReport(name=name, fetched=len(papers), day=day)], []
    chain = [huggingface.NAME, arxiv.NAME] if source == "auto" else [source]
    reports: list[SourceReport] = []
    notes: list[str] = []
    for position, name in enumerate(chain):
        progress(f"{name}: fetching {day}…")
        try:
            papers = await _fetch_one(name, day, settings, client)
        except SourceUnavailable as exc:
            log.error("source %s unavailable: %s", exc.source, exc.reason)
            progress(f"{name}: unavailable ({exc.reason})")
            reports.append(SourceReport(name=name, day=day, error=exc.reason))
            if position + 1 < len(chain):
                notes.append(_NOTES[lang]["source_down"].format(source=name, reason=exc.reason, other=chain[-1]))
            continue
        progress(f"{name}: {len(papers)} papers for {day}")
        reports.append(SourceReport(name=name, fetched=len(papers), day=day))
        return name, papers, reports, notes
    raise BuildFailed(
        "every source failed: "
        + "; ".join(f"{r.name}: {r.error}" for r in reports)
        + ". Check the network or the DIGEST_HF_BASE_URL / DIGEST_ARXIV_BASE_URL settings, then run the build again."
    )


async def collect(
    day: date,
    source: SourceChoice,
    settings: Settings,
    lang: Lang,
    published: set[str],
    progress: Progress = _no_progress,
    client: httpx.AsyncClient | None = None,
) -> Collected:
    """The papers to show for `day`, going back up to `fallback_days` when a day has nothing new."""
    notes: list[str] = []
    reports: list[SourceReport] = []
    text = _NOTES[lang]
    days = select.fallback_days(day, settings.fallback_days)
    own_client = client is None
    client = client or httpx.AsyncClient(
        timeout=settings.http_timeout_s, headers={"User-Agent": USER_AGENT}, follow_redirects=True
    )
    try:
        for candidate in days:
            name, papers, day_reports, day_notes = await _fetch_day(candidate, source, settings, client, lang, progress)
            reports.extend(day_reports)
            notes.extend(day_notes)
            chosen = select.top_k(papers, settings.top_k, exclude=published)
            if chosen:
                if candidate != day:
                    notes.append(text["fell_back"].format(day=candidate.isoformat()))
                if len(chosen) < settings.top_k:
                    notes.append(text["few"].format(count=len(chosen)))
                reports[-1].selected = len(chosen)
                return Collected(chosen, reports, candidate, notes)
            key = "all_seen" if papers else "empty"
            notes.append(text[key].format(day=candidate.isoformat(), source=name))
    finally:
        if own_client:
            await client.aclose()
    notes.append(text["nothing"].format(first=days[0].isoformat(), last=days[-1].isoformat()))
    return Collected([], reports, None, notes)


def _write_atomic(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def archive_paths(settings: Settings, day: date, lang: Lang) -> tuple[Path, Path]:
    base = settings.data_dir / "archive" / f"{day.isoformat()}.{lang}"
    return base.with_suffix(base.suffix + ".md"), base.with_suffix(base.suffix + ".json")


def write_archive(settings: Settings, digest: Digest, markdown: str) -> tuple[Path, Path]:
    """The durable record on disk, written before the store so an outage loses nothing."""
    md_path, json_path = archive_paths(settings, digest.date, digest.lang)
    _write_atomic(json_path, digest.model_dump_json(indent=2))
    _write_atomic(md_path, markdown)
    return md_path, json_path


async def build(
    settings: Settings,
    store: Store,
    day: date,
    *,
    source: SourceChoice = "auto",
    lang: Lang | None = None,
    summarizer: Summarizer | None = None,
    progress: Progress = _no_progress,
    now: datetime | None = None,
    client: httpx.AsyncClient | None = None,
    full_text: bool | None = None,
) -> BuildResult:
    """`full_text`: fetch the selected papers' full text (figures); None decides by source (fulltext.wanted)."""
    lang = lang or settings.lang
    summarizer = summarizer or OfflineSummarizer()
    try:
        published = await store.published_ids(day, settings.dedup_days)
    except StoreUnavailable as exc:
        log.warning("store unavailable, cannot skip papers from earlier digests: %s", exc)
        published = set()

    collected = await collect(day, source, settings, lang, published, progress, client)
    try:
        previous = await store.get_digest(day, lang)
    except StoreUnavailable:
        previous = None
    if not collected.papers and previous is not None and previous.items:
        # The sources have nothing for a day that already has a digest (a feed gone empty, every paper since
        # shown elsewhere): an empty rebuild must not replace what readers were given.
        log.warning(
            "%s (%s): nothing new to show; keeping the stored digest of %d papers", day, lang, len(previous.items)
        )
        progress(f"nothing new for {day}; the stored digest ({len(previous.items)} papers) is kept as it was")
        markdown = render_markdown(previous, settings.timezone)
        return BuildResult(previous, markdown, write_archive(settings, previous, markdown), stored=True)
    texts = fulltext.FullTextStep()
    if collected.papers and fulltext.wanted(settings, source, full_text):
        texts = await fulltext.fetch_for_papers(settings, store, collected.papers, progress)
    summary = await summarizer.summarize(collected.papers, lang, progress, previous=previous)
    progress(usage_line(summary.usage))
    items = [
        Item(rank=rank, paper=paper, brief=result.brief, checks=result.checks, **texts.item_fields(paper.id))
        for rank, (paper, result) in enumerate(zip(collected.papers, summary.results, strict=True), 1)
    ]
    digest = Digest(
        date=day,
        lang=lang,
        generated_at=(now or datetime.now(settings.tz)).astimezone(settings.tz),
        sources=collected.reports,
        items=items,
        highlights=summary.parts.highlights,
        daily_actions=summary.parts.daily_actions,
        parts_source=summary.parts.source,
        usage=summary.usage,
        notes=collected.notes + summary.notes,
        papers_day=collected.papers_day if collected.papers_day != day else None,
    )
    markdown = render_markdown(digest, settings.timezone)
    paths = write_archive(settings, digest, markdown)
    progress(f"archive: {paths[0]}")
    try:
        await store.save_digest(digest)
    except StoreUnavailable as exc:
        _pending_path(settings, day, lang).parent.mkdir(parents=True, exist_ok=True)
        _pending_path(settings, day, lang).touch()
        log.error("digest %s archived on disk but not stored: %s", day, exc)
        return BuildResult(digest, markdown, paths, stored=False, store_error=str(exc))
    _pending_path(settings, day, lang).unlink(missing_ok=True)
    return BuildResult(digest, markdown, paths, stored=True)


def _pending_path(settings: Settings, day: date, lang: Lang) -> Path:
    """An empty marker: this archived digest still has to reach the store (it was down at build time)."""
    return settings.data_dir / "pending" / f"{day.isoformat()}.{lang}"


async def flush_pending(settings: Settings, store: Store) -> list[tuple[date, Lang]]:
    """Store every digest that was archived while the store was down; the archive JSON is the source.

    Called when build, ask, shell and serve start. Stops quietly at the first StoreUnavailable (the markers
    stay for next time); returns the (day, lang) pairs stored now."""
    folder = settings.data_dir / "pending"
    if not folder.is_dir():
        return []
    stored: list[tuple[date, Lang]] = []
    for marker in sorted(folder.iterdir()):
        try:
            day_text, lang_text = marker.name.split(".", 1)
            day, lang = date.fromisoformat(day_text), lang_text
            json_path = archive_paths(settings, day, lang)  # type: ignore[arg-type]
            digest = Digest.model_validate_json(json_path[1].read_text(encoding="utf-8"))
        except (ValueError, OSError) as exc:  # a stray file or a lost archive: say so, keep going
            log.error("pending marker %s cannot be flushed: %s", marker.name, exc)
            continue
        try:
            await store.save_digest(digest)
        except StoreUnavailable as exc:
            log.info("store still unavailable, %d archived digest(s) wait: %s", len(list(folder.iterdir())), exc)
            break
        marker.unlink(missing_ok=True)
        stored.append((digest.date, digest.lang))
    return stored
