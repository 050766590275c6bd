"""Which papers make the digest: top-k by upvotes, ties by comments then id, none already published.

Papers without a vote count (arXiv, where Hugging Face does not list them) come after every counted one, newest
arXiv id first: that is the whole order of a day nobody voted on, and the report says so (`ranking`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from digest.models import Paper, Ranking


def rank_key(paper: Paper) -> tuple[bool, int, int, str]:
    return (paper.upvotes is not None, paper.upvotes or 0, paper.comments, paper.id)


def ranking(papers: Iterable[Paper], *, borrowed: bool = False) -> Ranking:
    """What orders `papers`: their own votes, votes borrowed from Hugging Face (arXiv), or none (newest first)."""
    if not any(p.upvotes is not None for p in papers):
        return "newest"
    return "hf_upvotes" if borrowed else "upvotes"


def top_k(papers: Iterable[Paper], k: int, *, exclude: set[str] | frozenset[str] = frozenset()) -> list[Paper]:
    """The k best papers, most up-voted first; equal upvotes go to more comments, then to the newer id."""
    fresh = [p for p in papers if p.id not in exclude]
    return sorted(fresh, key=rank_key, reverse=True)[:k]


def default_day(now: datetime, tz: ZoneInfo, lag_hours: float) -> date:
    """Yesterday in `tz`, seen from `lag_hours` ago: a morning build gets a day whose votes have settled."""
    return ((now.astimezone(tz) - timedelta(hours=lag_hours)).date()) - timedelta(days=1)


def fallback_days(day: date, count: int) -> list[date]:
    """The days to try, in order, when `day` has nothing to show."""
    return [day - timedelta(days=n) for n in range(count + 1)]
