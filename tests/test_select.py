from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from digest.models import Paper
from digest.select import default_day, fallback_days, top_k


def paper(pid: str, upvotes: int, comments: int = 0) -> Paper:
    return Paper(id=pid, title=f"Paper {pid}", url=f"https://example.org/{pid}", upvotes=upvotes, comments=comments)


def test_top_k_orders_by_upvotes_then_comments_then_newer_id():
    papers = [
        paper("2602.00001", 10, 1),
        paper("2602.00002", 10, 3),
        paper("2602.00003", 10, 3),
        paper("2602.00004", 50),
    ]
    assert [p.id for p in top_k(papers, 5)] == ["2602.00004", "2602.00003", "2602.00002", "2602.00001"]


def test_top_k_with_fewer_papers_than_k():
    assert len(top_k([paper("1", 3), paper("2", 2)], 5)) == 2
    assert top_k([], 5) == []


def test_top_k_skips_papers_already_published():
    papers = [paper("a", 100), paper("b", 90), paper("c", 80)]
    assert [p.id for p in top_k(papers, 2, exclude={"a"})] == ["b", "c"]


def test_default_day_is_yesterday_in_the_configured_timezone():
    seoul = ZoneInfo("Asia/Seoul")
    # 2026-02-14 08:00 KST is 2026-02-13 23:00 UTC: "yesterday" is the 13th in Seoul, not the 12th.
    now = datetime(2026, 2, 13, 23, 0, tzinfo=UTC)
    assert default_day(now, seoul, lag_hours=2) == date(2026, 2, 13)
    # Just after midnight the lag keeps the day whose votes are still coming in out of the digest.
    assert default_day(datetime(2026, 2, 14, 0, 30, tzinfo=seoul), seoul, lag_hours=2) == date(2026, 2, 12)


def test_fallback_days_go_back_in_order():
    assert fallback_days(date(2026, 2, 15), 2) == [date(2026, 2, 15), date(2026, 2, 14), date(2026, 2, 13)]
