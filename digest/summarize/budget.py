"""The LLM budget: what each calendar day (DIGEST_TIMEZONE) may spend, shared by every build of that day."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from digest.models import Lang
from digest.store import Store, StoreUnavailable

log = logging.getLogger(__name__)

_NOTES: dict[Lang, dict[str, str]] = {
    "ko": {
        "budget": "{day} 하루 LLM 예산(${limit:.2f})에 도달해 {count}편은 LLM 없이 원문을 옮겼습니다"
        "(이날 사용액 ${spent:.4f}, 같은 날의 다른 빌드 포함).",
        "budget_build": "저장소에 연결할 수 없어 이번 빌드에만 적용한 LLM 예산(${limit:.2f})에 도달해 "
        "{count}편은 LLM 없이 원문을 옮겼습니다.",
        "budget_zero": "LLM 예산이 0으로 설정되어 있어(DIGEST_DAILY_BUDGET_USD) {count}편은 LLM 없이 원문을 옮겼습니다.",
    },
    "en": {
        "budget": "The daily LLM budget (${limit:.2f}) for {day} was reached (${spent:.4f} spent that day, other "
        "builds included), so {count} papers show their abstracts without an LLM brief.",
        "budget_build": "The LLM budget (${limit:.2f}), applied to this build alone because the store was "
        "unavailable, was reached, so {count} papers show their abstracts without an LLM brief.",
        "budget_zero": "The LLM budget is set to 0 (DIGEST_DAILY_BUDGET_USD), so {count} papers show their "
        "abstracts without an LLM brief.",
    },
}


@dataclass(frozen=True)
class Reservation:
    worst: float  # USD held for the call until it is settled
    day: date | None  # the day it is held against in the store; None: held in this build only


class Budget:
    """The LLM spend of each calendar day (DIGEST_TIMEZONE) against `limit` USD, shared by every build of the day.

    A call goes ahead only if its worst case still fits. It is reserved in the store first (one atomic add, so
    concurrent calls and builds cannot overrun the day together) and settled to the real cost when the answer
    arrives. When the store cannot be reached, the limit applies to this build's own spend (the per-build budget)
    for the rest of the build, and the log says so.
    """

    def __init__(
        self, limit: float | None, price_in: float, price_out: float, store: Store, today: Callable[[], date]
    ) -> None:
        self.limit = limit
        self.price_in = price_in / 1_000_000
        self.price_out = price_out / 1_000_000
        self.store = store
        self.today = today
        self.daily = True  # False once the store failed: the per-build budget from then on
        self.spent = 0.0  # this build's real spend
        self.reserved = 0.0  # this build's calls in flight, at their worst case
        self.refused_on: date | None = None  # the day whose budget refused a call

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        return tokens_in * self.price_in + tokens_out * self.price_out

    async def reserve(self, prompt_chars: int, max_out: int) -> Reservation | None:
        """Reserve the worst case of the next call (about 2 characters a token, all `max_out` used); None = over."""
        worst = self.cost(prompt_chars // 2 + 1, max_out)
        if self.daily and worst > 0:
            day = self.today()
            try:
                total = await self.store.add_spend(day, worst)
                if self.limit is not None and total > self.limit + 1e-9:
                    await self.store.add_spend(day, -worst)
                    self.refused_on = day
                    return None
            except StoreUnavailable as exc:
                self._per_build(exc)
            else:
                self.reserved += worst
                return Reservation(worst, day)
        if self.limit is not None and self.spent + self.reserved + worst > self.limit:
            return None
        self.reserved += worst
        return Reservation(worst, None)

    async def settle(self, reservation: Reservation, tokens_in: int, tokens_out: int) -> float:
        """Replace the reservation by the real cost (0 for a call that failed); returns the real cost."""
        self.reserved -= reservation.worst
        actual = self.cost(tokens_in, tokens_out)
        self.spent += actual
        if reservation.day is not None:
            try:
                await self.store.add_spend(reservation.day, actual - reservation.worst)
            except StoreUnavailable as exc:
                self._per_build(exc)
        return actual

    def _per_build(self, exc: StoreUnavailable) -> None:
        if self.daily:
            self.daily = False
            log.warning(
                "the day's LLM spend cannot be read or recorded (%s): the budget applies to this build alone", exc
            )

    async def note(self, lang: Lang, count: int) -> str:
        """Why `count` papers got no LLM brief: the day's budget (and what the day has spent), or this build's."""
        limit = self.limit or 0
        if limit <= 0:
            return _NOTES[lang]["budget_zero"].format(count=count)
        if self.refused_on is None:  # every refusal came after the store failed
            return _NOTES[lang]["budget_build"].format(limit=limit, count=count)
        try:
            spent = await self.store.get_spend(self.refused_on)
        except StoreUnavailable:
            spent = self.spent
        spent = max(0.0, spent)  # reservations given back in floating point can leave -0.00000001
        return _NOTES[lang]["budget"].format(limit=limit, count=count, day=self.refused_on.isoformat(), spent=spent)


class OverBudget(Exception):
    pass
