"""Briefs for the selected papers. `Summarizer` is the seam: offline briefs here, LLM briefs behind it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from digest.models import Brief, Checks, Digest, Highlight, Item, Lang, Paper, PartsSource, Usage

Progress = Callable[[str], None]


@dataclass
class BriefResult:
    brief: Brief
    checks: Checks = field(default_factory=Checks)
    cached: bool = False


@dataclass
class DigestParts:
    highlights: list[Highlight]
    daily_actions: list[str]
    source: PartsSource = field(default_factory=PartsSource)  # the automatic ones unless said otherwise


@dataclass
class Summary:
    """What a summarizer returns for one digest: a brief per paper (same order), the digest-level parts, usage."""

    results: list[BriefResult]
    parts: DigestParts
    usage: Usage = field(default_factory=Usage)
    notes: list[str] = field(default_factory=list)


class Summarizer(Protocol):
    async def summarize(
        self, papers: list[Paper], lang: Lang, progress: Progress, *, previous: Digest | None = None
    ) -> Summary:
        """`previous` is the stored digest of the same day, if any: a rebuild may reuse its digest-level parts."""


def usage_line(usage: Usage) -> str:
    """The one line per build on stderr: what the LLM cost."""
    return (
        f"LLM: {usage.llm_calls} calls, {usage.input_tokens:,} in / {usage.output_tokens:,} out tokens, "
        f"${usage.cost_usd:.4f} ({usage.cached_briefs} briefs from cache)"
    )


def _no_progress(_: str) -> None:
    return None


class OfflineSummarizer:
    """No LLM: every brief is built from the abstract and Hugging Face's metadata, marked origin=fallback."""

    async def summarize(
        self, papers: list[Paper], lang: Lang, progress: Progress = _no_progress, *, previous: Digest | None = None
    ) -> Summary:
        from digest.summarize.offline import digest_parts, offline_brief

        results = [BriefResult(offline_brief(p, lang)) for p in papers]
        items = [Item(rank=n, paper=p, brief=r.brief) for n, (p, r) in enumerate(zip(papers, results, strict=True), 1)]
        progress(f"briefs: {len(papers)} offline (no LLM)")
        return Summary(results=results, parts=digest_parts(items, lang))
