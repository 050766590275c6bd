"""The permalink helper the chat adapters call for "전체 보기"."""

from __future__ import annotations

from datetime import date

import pytest

from digest.links import anchor, digest_path, permalink

DAY = date(2026, 2, 13)


def test_permalinks_point_at_papers_and_sections() -> None:
    assert permalink("https://digest.example.org", DAY, 3) == "https://digest.example.org/d/2026-02-13#3"
    assert (
        permalink("https://digest.example.org/", DAY, 3, "risks") == "https://digest.example.org/d/2026-02-13#3-risks"
    )
    assert permalink("https://x.example/base/", DAY, 1, "all") == "https://x.example/base/d/2026-02-13#1"
    assert permalink("https://x.example", DAY, 5, lang="en") == "https://x.example/d/2026-02-13?lang=en#5"
    assert permalink("https://x.example", DAY) == "https://x.example/d/2026-02-13"
    assert permalink(None, DAY, 2, "dev") == "/d/2026-02-13#2-dev"


def test_unknown_sections_and_section_without_rank_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown section"):
        anchor(3, "risk")  # an alias, not a key: the caller resolves aliases first
    with pytest.raises(ValueError, match="rank"):
        permalink("https://x.example", DAY, section="risks")


def test_digest_path_names_english_explicitly() -> None:
    assert digest_path(DAY) == "/d/2026-02-13"
    assert digest_path(DAY, "en") == "/d/2026-02-13?lang=en"
