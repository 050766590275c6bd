"""Bundled sample days (copied from the shared fixtures): the offline source behind `digestbot demo`."""

from __future__ import annotations

import json
from datetime import date
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from digest.models import Paper
from digest.sources import arxiv, huggingface
from digest.sources.base import Fetched

if TYPE_CHECKING:
    from digest.settings import Settings

NAME = "sample"
DEMO_DAY = date(2026, 2, 13)


def sample_dir() -> Path:
    return Path(str(resources.files("digest") / "sample"))


def _files(day: date) -> tuple[Path, Path]:
    folder = sample_dir()
    return (
        folder / f"daily_papers_{day.isoformat()}.json",
        folder / f"query_cs.AI_cs.LG_{day.isoformat()}.atom.xml",
    )


def available_days() -> list[date]:
    days = set()
    for path in sample_dir().iterdir():
        stem = path.name.split(".")[0] if path.suffix == ".json" else path.name.removesuffix(".atom.xml")
        try:
            days.add(date.fromisoformat(stem[-10:]))
        except ValueError:
            continue
    return sorted(days)


def fetch(day: date) -> tuple[str, list[Paper]]:
    """(the source the sample stands for, its papers); an unknown day has none."""
    hf_file, arxiv_file = _files(day)
    if hf_file.is_file():
        return huggingface.NAME, huggingface.parse(json.loads(hf_file.read_text(encoding="utf-8")))
    if arxiv_file.is_file():
        return arxiv.NAME, arxiv.parse(arxiv_file.read_bytes())[0]
    return huggingface.NAME, []


class Sample:
    """The bundled days, offline: it stands for the source each day was recorded from. No votes for arXiv days
    (nothing offline knows them), so those are ranked newest first."""

    name = NAME

    @classmethod
    def from_settings(cls, settings: Settings, client: Any) -> Sample:
        return cls()

    async def fetch(self, day: date) -> Fetched:
        name, papers = fetch(day)
        return Fetched(name, papers)
