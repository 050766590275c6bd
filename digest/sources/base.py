"""What every source gives the pipeline: one day of its feed as `Paper`s, behind the `Source` protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Protocol, runtime_checkable

from digest.models import Paper


@dataclass
class Fetched:
    """One day of a feed. `name` is the feed the papers came from (the sample source stands for one);
    `capped` is set when the feed had more papers than a source reads in one day (the rest were not seen)."""

    name: str
    papers: list[Paper]
    capped: int | None = None
    notes: list[str] = field(default_factory=list)


class Source(Protocol):
    name: str  # the registry name: DIGEST_SOURCE, --source

    async def fetch(self, day: date) -> Fetched:
        """The papers of `day`. Raises SourceUnavailable when the feed cannot be read."""


@runtime_checkable
class VoteLookup(Protocol):
    """A source that can count votes for papers listed elsewhere (the arXiv ids of a day without votes)."""

    async def votes(self, ids: set[str], day: date) -> dict[str, int]:
        """Votes of those of `ids` this source knows, for papers submitted on `day`; raises SourceUnavailable."""
