"""build(day) -> Digest: sources -> select -> (full text, beside summarize) -> verify -> store + archive."""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import httpx

from digest import select
from digest.fulltext import library as fulltext
from digest.models import Digest, Item, Lang, Paper, SourceReport
from digest.render import render_markdown
from digest.settings import Settings
from digest.sources import registry
from digest.sources._http import SourceUnavailable
from digest.sources.base import Fetched, VoteLookup
from digest.store import Store, StoreUnavailable
from digest.summarize import Summarizer, usage_line

log = logging.getLogger(__name__)

SourceChoice = str  # "auto" or a name in digest.sources.registry (checked by registry.chain)
Progress = Callable[[str], None]
USER_AGENT = "paper-digest-bot/0.1 (+https://github.com/paper-digest-bot)"

_NOTES: dict[Lang, dict[str, str]] = {
    "ko": {
        "source_down": "{source} 수집 실패({reason}): {other}에서 가져왔습니다.",
        "empty": "{days}에는 {source} 목록에 새 논문이 없습니다(주말·휴일이거나 목록이 아직 채워지지 않았을 수 있습니다).",
        "all_seen": "{days}의 논문은 모두 이전 다이제스트에 이미 실렸습니다.",
        "fell_back": "그래서 {day} 목록에서 골랐습니다.",
        "nothing": "{last}부터 {first}까지 {source} 목록에 보여줄 새 논문이 없어 이번 다이제스트는 비어 있습니다.",
        "few": "새 논문이 {count}편뿐이라 {count}편만 실었습니다.",
        "capped": "{source}의 {day} 목록이 너무 길어 앞의 {count:,}편만 읽었습니다. 순위에 빠진 논문이 있을 수 있습니다.",
        "votes_down": "Hugging Face 추천 수를 가져오지 못해({reason}) 최신 제출순으로 골랐습니다.",
    },
    "en": {
        "source_down": "{source} was unavailable ({reason}); papers came from {other}.",
        "empty": "{source} had no new papers for {days} (a weekend or holiday, or the list is not complete yet).",
        "all_seen": "Every paper of {days} was already in an earlier digest.",
        "fell_back": "So this digest uses the list of {day}.",
        "nothing": "{source} had no new papers from {last} to {first}, so this digest is empty.",
        "few": "Only {count} new papers, so only {count} are shown.",
        "capped": "The {source} list of {day} was too long: only its first {count:,} papers were read, so the ranking "
        "may miss some.",
        "votes_down": "Hugging Face votes could not be read ({reason}), so the newest submissions were picked.",
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

    @property
    def llm_error(self) -> str | None:
        """Why the LLM could not be used at all (a refused key): the digest was built offline, a job failure."""
        return self.digest.llm_error


def _no_progress(_: str) -> None:
    return None


async def _fetch_day(
    day: date, chain: tuple[str, ...], settings: Settings, client: httpx.AsyncClient, lang: Lang, progress: Progress
) -> tuple[Fetched, list[SourceReport], list[str]]:
    """One day from the first source of `chain` that answers; in auto mode arXiv stands in while Hugging Face is
    down."""
    reports: list[SourceReport] = []
    notes: list[str] = []
    for position, name in enumerate(chain):
        progress(f"{name}: fetching {day}…")
        try:
            fetched = await registry.make_source(name, settings, client).fetch(day)
        except SourceUnavailable as exc:
            log.error("source %s unavailable: %s", exc.source, exc.reason)
            progress(f"{name}: unavailable ({exc.reason})")
            reports.append(SourceReport(name=name, day=day, error=exc.reason))
            if position + 1 < len(chain):
                notes.append(_NOTES[lang]["source_down"].format(source=name, reason=exc.reason, other=chain[-1]))
            continue
        progress(f"{name}: {len(fetched.papers)} papers for {day}")
        reports.append(SourceReport(name=fetched.name, fetched=len(fetched.papers), day=day))
        if fetched.capped:
            label = registry.source_label(fetched.name)
            notes.append(_NOTES[lang]["capped"].format(source=label, day=day.isoformat(), count=fetched.capped))
        return fetched, reports, notes
    raise BuildFailed(
        "every source failed: "
        + "; ".join(f"{r.name}: {r.error}" for r in reports)
        + ". Check the network or the DIGEST_HF_BASE_URL / DIGEST_ARXIV_BASE_URL settings, then run the build again."
    )


async def _borrow_votes(
    papers: list[Paper],
    day: date,
    settings: Settings,
    client: httpx.AsyncClient,
    failed: set[str],
    progress: Progress,
) -> tuple[list[Paper], str | None]:
    """Papers from a source without votes, with the votes the vote source (Hugging Face) has for the same ids.

    Returns the papers and, when the vote source could not be asked, why (the digest then says so)."""
    if registry.VOTES in failed:
        return papers, None  # it was down a moment ago: no second wait for the same outage
    lookup = registry.make_source(registry.VOTES, settings, client)
    if not isinstance(lookup, VoteLookup):  # pragma: no cover - a registry mistake
        return papers, None
    try:
        votes = await lookup.votes({p.id for p in papers}, day)
    except SourceUnavailable as exc:
        log.warning("votes for %s could not be read from %s: %s", day, registry.VOTES, exc.reason)
        return papers, exc.reason
    progress(f"{registry.VOTES}: votes for {len(votes)} of {len(papers)} papers of {day}")
    return [p.model_copy(update={"upvotes": votes[p.id]}) if p.id in votes else p for p in papers], None


def _days(days: list[date]) -> str:
    return ", ".join(d.isoformat() for d in days)


async def collect(
    day: date,
    source: SourceChoice,
    settings: Settings,
    lang: Lang,
    published: set[str],
    progress: Progress = _no_progress,
    client: httpx.AsyncClient | None = None,
) -> Collected:
    """The papers to show for `day`, going back up to `fallback_days` when a day has nothing new.

    The notes say once what happened (days without papers, a source down, the day used instead), not once per
    day tried."""
    notes: list[str] = []
    outages: list[SourceReport] = []
    first_listed: SourceReport | None = None
    text = _NOTES[lang]
    chain = registry.chain(source)
    days = select.fallback_days(day, settings.fallback_days)
    empty: list[date] = []
    all_seen: list[date] = []
    source_name = chain[0]
    own_client = client is None
    client = client or httpx.AsyncClient(
        timeout=settings.http_timeout_s, headers={"User-Agent": USER_AGENT}, follow_redirects=True
    )
    try:
        for candidate in days:
            fetched, day_reports, day_notes = await _fetch_day(candidate, chain, settings, client, lang, progress)
            # The report names each source once: an outage once, and the list used (the last one tried).
            outages.extend(
                r for r in day_reports if r.error and (r.name, r.error) not in {(o.name, o.error) for o in outages}
            )
            listed = next(r for r in day_reports if not r.error)
            first_listed = first_listed or listed
            reports = [*outages, listed]
            notes.extend(n for n in day_notes if n not in notes)
            source_name = fetched.name
            papers, borrowed = fetched.papers, False
            fresh = [p for p in papers if p.id not in published]
            if fresh and all(p.upvotes is None for p in fresh) and not registry.offline(source):
                failed = {r.name for r in outages}
                papers, reason = await _borrow_votes(fresh, candidate, settings, client, failed, progress)
                borrowed = True
                if reason is not None and (note := text["votes_down"].format(reason=reason)) not in notes:
                    notes.append(note)
            chosen = select.top_k(papers, settings.top_k, exclude=published)
            if chosen:
                label = registry.source_label(source_name)
                if empty:
                    notes.append(text["empty"].format(days=_days(empty), source=label))
                if all_seen:
                    notes.append(text["all_seen"].format(days=_days(all_seen)))
                if candidate != day:
                    notes.append(text["fell_back"].format(day=candidate.isoformat()))
                if len(chosen) < settings.top_k:
                    notes.append(text["few"].format(count=len(chosen)))
                reports[-1].selected = len(chosen)
                reports[-1].ranking = select.ranking(chosen, borrowed=borrowed)
                return Collected(chosen, reports, candidate, notes)
            (all_seen if papers else empty).append(candidate)
    finally:
        if own_client:
            await client.aclose()
    label = registry.source_label(source_name)
    notes.append(text["nothing"].format(first=days[0].isoformat(), last=days[-1].isoformat(), source=label))
    return Collected([], [*outages, *([first_listed] if first_listed else [])], None, notes)


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
    if summarizer is None:  # as `digestbot build --no-llm`: cached (and golden) briefs, offline ones for the rest
        from digest.summarize.llm import BriefSummarizer

        summarizer = BriefSummarizer(settings, store)
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
    # The briefs are written from the abstracts, so the full text (figures) is read while they are written.
    if collected.papers and fulltext.wanted(settings, source, full_text):
        reading: Awaitable[fulltext.FullTextStep] = fulltext.fetch_for_papers(
            settings, store, collected.papers, progress
        )
    else:
        reading = _no_full_text()
    texts, summary = await asyncio.gather(
        reading, summarizer.summarize(collected.papers, lang, progress, previous=previous)
    )
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
        llm_error=summary.llm_error,
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


async def _no_full_text() -> fulltext.FullTextStep:
    return fulltext.FullTextStep()


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
