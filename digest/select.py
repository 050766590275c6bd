"""Which papers make the digest: top-k by upvotes, ties by comments then id, none already published."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from digest.models import Paper


def rank_key(paper: Paper) -> tuple[int, int, str]:
    return (paper.upvotes, paper.comments, paper.id)


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
