"""Schedule arithmetic: DST gaps and folds, weekdays, catch-up window, build time. Pure functions, no servers."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot import scheduler
from digest.settings import Settings
from digest.store.base import Subscription

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def settings_(**overrides: object) -> Settings:
    values = {"DIGEST_TIMEZONE": "Asia/Seoul", "DIGEST_POST_TIME": "08:00"}
    for key, value in overrides.items():
        alias = Settings.model_fields[key].validation_alias
        values[alias.choices[0]] = value  # type: ignore[union-attr]
    return Settings(**values)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def sub(
    chat: str = "C1", *, at: str | None = None, tz: str | None = None, weekdays: list[int] | None = None
) -> Subscription:
    extra = {"weekdays": weekdays} if weekdays is not None else {}
    return Subscription(
        platform="slack", chat_id=chat, post_time=time.fromisoformat(at) if at else None, timezone=tz, **extra
    )


# --- DST: Europe/Berlin (last Sunday of March 02:00 -> 03:00, last Sunday of October 03:00 -> 02:00)


def test_berlin_morning_post_follows_the_clock_across_spring_forward() -> None:
    assert scheduler.post_instant(date(2026, 3, 28), time(8), BERLIN) == utc(2026, 3, 28, 7)  # CET, +01:00
    assert scheduler.post_instant(date(2026, 3, 29), time(8), BERLIN) == utc(2026, 3, 29, 6)  # CEST, +02:00


def test_berlin_post_time_inside_the_skipped_hour_moves_to_the_end_of_the_gap() -> None:
    # 02:30 does not exist on 2026-03-29; the first valid instant after it is 03:00 CEST = 01:00 UTC.
    instant = scheduler.post_instant(date(2026, 3, 29), time(2, 30), BERLIN)
    assert instant == utc(2026, 3, 29, 1)
    assert instant.astimezone(BERLIN).strftime("%H:%M %Z") == "03:00 CEST"
    assert scheduler.post_instant(date(2026, 3, 29), time(2, 0), BERLIN) == utc(2026, 3, 29, 1)
    assert scheduler.post_instant(date(2026, 3, 29), time(2, 59, 59), BERLIN) == utc(2026, 3, 29, 1)


def test_berlin_ambiguous_time_uses_the_first_occurrence() -> None:
    # 02:30 happens twice on 2026-10-25: first at +02:00 (00:30 UTC), again at +01:00 (01:30 UTC).
    assert scheduler.post_instant(date(2026, 10, 25), time(2, 30), BERLIN) == utc(2026, 10, 25, 0, 30)


def test_berlin_morning_post_follows_the_clock_across_fall_back() -> None:
    assert scheduler.post_instant(date(2026, 10, 24), time(8), BERLIN) == utc(2026, 10, 24, 6)
    assert scheduler.post_instant(date(2026, 10, 25), time(8), BERLIN) == utc(2026, 10, 25, 7)


# --- DST: America/New_York (second Sunday of March 02:00 -> 03:00, first Sunday of November 02:00 -> 01:00)


def test_new_york_morning_post_across_both_transitions() -> None:
    assert scheduler.post_instant(date(2026, 3, 7), time(8), NEW_YORK) == utc(2026, 3, 7, 13)
    assert scheduler.post_instant(date(2026, 3, 8), time(8), NEW_YORK) == utc(2026, 3, 8, 12)
    assert scheduler.post_instant(date(2026, 10, 31), time(8), NEW_YORK) == utc(2026, 10, 31, 12)
    assert scheduler.post_instant(date(2026, 11, 1), time(8), NEW_YORK) == utc(2026, 11, 1, 13)


def test_new_york_skipped_hour_and_ambiguous_hour() -> None:
    assert scheduler.post_instant(date(2026, 3, 8), time(2, 15), NEW_YORK) == utc(2026, 3, 8, 7)  # 03:00 EDT
    assert scheduler.post_instant(date(2026, 11, 1), time(1, 30), NEW_YORK) == utc(2026, 11, 1, 5, 30)  # EDT


def test_every_wall_time_of_a_transition_day_maps_to_an_instant_not_before_it() -> None:
    """Exhaustive over the four transition days, every 5 minutes: never earlier than the wall time asked for,
    never more than the gap later, and instants keep the order of wall times."""
    for tz, day in [
        (BERLIN, date(2026, 3, 29)),
        (BERLIN, date(2026, 10, 25)),
        (NEW_YORK, date(2026, 3, 8)),
        (NEW_YORK, date(2026, 11, 1)),
    ]:
        previous = None
        for minute in range(0, 24 * 60, 5):
            wall = datetime.combine(day, time(minute // 60, minute % 60))
            instant = scheduler.post_instant(day, wall.time(), tz)
            shown = instant.astimezone(tz).replace(tzinfo=None)
            assert wall <= shown <= wall + timedelta(hours=1), (tz, wall, shown)
            assert previous is None or instant >= previous
            previous = instant


def test_subscription_slot_uses_its_own_zone_and_the_next_local_day() -> None:
    slot = scheduler.slot_for(sub(at="08:00", tz="America/New_York"), date(2026, 3, 7), settings_())
    assert slot is not None and slot.at == utc(2026, 3, 8, 12)  # digest of the 7th, posted the 8th (EDT)
    default = scheduler.slot_for(sub(), date(2026, 2, 13), settings_())
    assert default is not None and default.at == utc(2026, 2, 13, 23)  # 08:00 KST on the 14th


def test_unknown_subscription_timezone_falls_back_to_the_default() -> None:
    slot = scheduler.slot_for(sub(tz="Mars/Olympus"), date(2026, 2, 13), settings_())
    assert slot is not None and slot.at == utc(2026, 2, 13, 23)


# --- weekdays


def test_weekdays_are_the_chats_local_post_day() -> None:
    weekdays_only = sub(weekdays=[0, 1, 2, 3, 4])
    # The digest of Friday 2026-02-13 is posted on Saturday the 14th: not on a weekdays-only chat.
    assert scheduler.slot_for(weekdays_only, date(2026, 2, 13), settings_()) is None
    # The digest of Sunday the 15th is posted on Monday the 16th.
    assert scheduler.slot_for(weekdays_only, date(2026, 2, 15), settings_()) is not None


def test_weekday_follows_the_chats_timezone_not_the_servers() -> None:
    # 08:00 Monday in New York is 22:00 Monday in Seoul; 07:00 Monday in Seoul is still Sunday in New York.
    monday_only_ny = sub(tz="America/New_York", weekdays=[0])
    slot = scheduler.slot_for(monday_only_ny, date(2026, 2, 15), settings_())
    assert slot is not None and slot.at.astimezone(NEW_YORK).weekday() == 0


def test_bad_or_empty_weekdays_never_crash() -> None:
    assert scheduler.slot_for(sub(weekdays=[9, -1]), date(2026, 2, 13), settings_()) is None
    assert scheduler.slot_for(sub(weekdays=[]), date(2026, 2, 13), settings_()) is None


# --- catch-up window


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2026, 2, 13, 22, 59), "early"),  # 07:59 KST: a restart now waits for 08:00
        (utc(2026, 2, 13, 23, 0), "due"),
        (utc(2026, 2, 13, 23, 5), "due"),  # 08:05 KST: a restart now catches up
        (utc(2026, 2, 14, 2, 0), "due"),  # the last instant of a 3 h window
        (utc(2026, 2, 14, 2, 0, 1), "missed"),
    ],
)
def test_catch_up_window(now: datetime, expected: str) -> None:
    slot = scheduler.slot_for(sub(), date(2026, 2, 13), settings_(catchup_hours=3))
    assert slot is not None
    assert scheduler.state(slot, now, settings_(catchup_hours=3)) == expected


def test_due_lists_only_chats_inside_their_window() -> None:
    subs = [sub("early", at="09:00"), sub("now", at="08:00"), sub("gone", at="01:00"), sub("ny", tz="America/New_York")]
    due = scheduler.due(utc(2026, 2, 13, 23, 30), subs, settings_(catchup_hours=3))
    assert [(s.sub.chat_id, s.day) for s in due] == [("now", date(2026, 2, 13))]


def test_due_after_a_restart_two_hours_late_still_lists_the_missed_morning() -> None:
    due = scheduler.due(utc(2026, 2, 14, 1, 0), [sub("a"), sub("b")], settings_(catchup_hours=3))
    assert {s.sub.chat_id for s in due} == {"a", "b"}


# --- build time


def test_build_runs_lead_minutes_before_the_earliest_post_of_the_day() -> None:
    s = settings_(build_lead_minutes=30)
    subs = [sub("late", at="09:00"), sub("early", at="06:30")]
    assert scheduler.build_at(date(2026, 2, 13), subs, s) == utc(2026, 2, 13, 21, 0)  # 06:30 KST - 30 min
    # With no subscriptions, the deployment's post time still gets a build (commands answer from it).
    assert scheduler.build_at(date(2026, 2, 13), [], s) == utc(2026, 2, 13, 22, 30)


def test_build_is_due_from_its_time_until_the_last_window_closes() -> None:
    s = settings_(build_lead_minutes=30, catchup_hours=3)
    assert date(2026, 2, 13) not in scheduler.builds_due(utc(2026, 2, 13, 22, 29), [], s)
    assert date(2026, 2, 13) in scheduler.builds_due(utc(2026, 2, 13, 22, 30), [], s)
    assert date(2026, 2, 13) not in scheduler.builds_due(utc(2026, 2, 14, 2, 1), [], s)


def test_next_event_is_the_next_build_or_post() -> None:
    s = settings_(build_lead_minutes=30)
    assert scheduler.next_event(utc(2026, 2, 13, 12), [sub()], s) == utc(2026, 2, 13, 22, 30)
    assert scheduler.next_event(utc(2026, 2, 13, 22, 30), [sub()], s) == utc(2026, 2, 13, 23)
