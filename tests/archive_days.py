"""Stored sample digests for the web archive tests: the four bundled days, built offline, in date order."""

from __future__ import annotations

import asyncio
import threading
from datetime import date
from pathlib import Path

import pytest

from digest import pipeline
from digest.models import Digest, Lang
from digest.settings import Settings
from digest.store import Store
from digest.store.sqlite import SqliteStore

SAMPLE_DAYS = (date(2026, 1, 8), date(2026, 2, 2), date(2026, 2, 10), date(2026, 2, 13))
DEMO_DAY = date(2026, 2, 13)


def archive_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {"DIGEST_DATA_DIR": data_dir, "DIGEST_PUBLIC_URL": None, **overrides}
    return Settings(**values)  # type: ignore[arg-type]


def store_for(settings: Settings) -> SqliteStore:
    return SqliteStore(settings.data_dir / "store.sqlite3")


def close_store(store: Store) -> None:
    """Close a store a server used, from a thread of its own: the caller's thread may be inside an event loop
    (playwright's sync API runs one), and an unclosed aiosqlite connection outlives its loop noisily."""
    done = threading.Thread(target=asyncio.run, args=(store.close(),))
    done.start()
    done.join()


def load_digest(data_dir: Path, day: date = DEMO_DAY, lang: Lang = "ko") -> Digest:
    async def get() -> Digest | None:
        store = store_for(archive_settings(data_dir))
        try:
            return await store.get_digest(day, lang)
        finally:
            await store.close()

    digest = asyncio.run(get())
    assert digest is not None, f"no {lang} digest of {day} in {data_dir}"
    return digest


def build_sample_archive(data_dir: Path) -> Settings:
    """Build every sample day in Korean (oldest first, as the mornings would) and the demo day in English too."""

    async def run() -> None:
        settings = archive_settings(data_dir)
        store = store_for(settings)
        try:
            for day in SAMPLE_DAYS:
                await pipeline.build(settings, store, day, source="sample")
            await pipeline.build(settings, store, DEMO_DAY, source="sample", lang="en")
        finally:
            await store.close()

    asyncio.run(run())
    return archive_settings(data_dir)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data dir of a store holding the sample days (import this fixture into a test module to use it)."""
    data_dir = tmp_path_factory.mktemp("archive")
    build_sample_archive(data_dir)
    return data_dir
