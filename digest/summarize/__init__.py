"""Briefs for the selected papers. `Summarizer` is the seam; `llm.BriefSummarizer` implements it (the brief cache,
then the LLM when it has a client, else the offline brief of `offline`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from digest.models import Brief, Checks, Digest, Highlight, Lang, Paper, PartsSource, Usage

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
    llm_error: str | None = None  # the LLM could not be used at all (a refused key)


class Summarizer(Protocol):
    async def summarize(
        self, papers: list[Paper], lang: Lang, progress: Progress, *, previous: Digest | None = None
    ) -> Summary:
        """`previous` is the stored digest of the same day, if any: a rebuild may reuse its digest-level parts."""


def usage_line(usage: Usage) -> str:
    """The one line per build on stderr: what the LLM cost, and how many calls got no answer."""
    failed = f", {usage.failed_calls} failed" if usage.failed_calls else ""
    return (
        f"LLM: {usage.llm_calls} calls answered{failed}, {usage.input_tokens:,} in / {usage.output_tokens:,} out "
        f"tokens, ${usage.cost_usd:.4f} ({usage.cached_briefs} briefs from cache)"
    )


def _no_progress(_: str) -> None:
    return None
