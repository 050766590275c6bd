"""The Store protocol: one async interface, two backends (Redis, embedded SQLite)."""

from __future__ import annotations

from datetime import date
from typing import Protocol

from digest.models import Brief, Digest, Lang


class StoreUnavailable(Exception):
    """The backend cannot be reached right now; callers answer "temporarily unavailable" and try again later."""


class Store(Protocol):
    async def save_digest(self, digest: Digest) -> None:
        """Atomically replace the digest of (digest.date, digest.lang) and update the latest date."""

    async def get_digest(self, day: date, lang: Lang) -> Digest | None: ...

    async def latest_date(self, lang: Lang) -> date | None: ...

    async def list_dates(self, lang: Lang) -> list[date]:
        """Days with a stored digest in `lang`, newest first."""

    async def published_ids(self, before: date, days: int) -> set[str]:
        """Ids of papers shown in any digest of the `days` days before `before` (any language)."""

    async def get_brief(self, key: str) -> Brief | None: ...

    async def put_brief(self, key: str, brief: Brief) -> None: ...

    async def close(self) -> None: ...
