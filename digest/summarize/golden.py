"""The golden briefs of the reference days (digest/sample/golden), as pre-filled brief-cache entries.

They were written by an LLM for the bundled sample days, so `digestbot demo` shows real Korean briefs with
no key and no call. Each section they have is marked as written by the reference; sections the older formats
lack are left out (never filled), the seed defects that sit in brief text are fixed, and their links are never
used (links come from Paper).
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

from digest.models import LIST_SECTIONS, TEXT_SECTIONS, Brief, Paper
from digest.sources.sample import sample_dir

# Seed defects in brief text (see each golden file's seed_defects): id -> (text replacements, tags to drop).
_FIXES: dict[str, tuple[dict[str, str], set[str]]] = {
    "2601.04151": ({"진보적인": "점진적인"}, set()),
    "2602.07085": ({"백테스킹": "백테스팅"}, set()),
    "2602.02488": ({"RLAnything는": "RLAnything은"}, set()),
    "2602.12036": ({}, {"Agent"}),
    "2602.12205": ({}, {"RAG", "Safety"}),
    "2602.10934": ({}, {"RAG", "Distillation"}),
}


def abstract_hash(abstract: str) -> str:
    return hashlib.sha256(abstract.encode("utf-8")).hexdigest()[:16]


@cache
def golden_papers() -> dict[str, dict[str, Any]]:
    """Golden paper records by arXiv id, as stored (defects included)."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted((sample_dir() / "golden").glob("briefs_*.json")):
        for record in json.loads(path.read_text(encoding="utf-8"))["papers"]:
            out[record["id"]] = record
    return out


@cache
def _sample_hashes() -> dict[str, str]:
    """id -> hash of the bundled sample abstract the golden brief was matched to."""
    from digest.sources import sample

    out: dict[str, str] = {}
    for day in sample.available_days():
        for paper in sample.fetch(day)[1]:
            out[paper.id] = abstract_hash(paper.abstract)
    return out


def _fix(text: str, replacements: dict[str, str]) -> str:
    for old, new in replacements.items():
        text = text.replace(old, new)
    return text


def golden_brief(paper: Paper) -> Brief | None:
    """The golden brief for this paper, only when its abstract is the one the golden brief describes."""
    record = golden_papers().get(paper.id)
    if record is None or _sample_hashes().get(paper.id) != abstract_hash(paper.abstract):
        return None
    replacements, drop = _FIXES.get(paper.id, ({}, set()))
    data: dict[str, Any] = {}
    for key in TEXT_SECTIONS:
        if record.get(key):
            data[key] = _fix(record[key], replacements)
    for key in LIST_SECTIONS:
        data[key] = [_fix(v, replacements) for v in record.get(key) or [] if v not in drop]
    points = data.get("key_points") or []
    if points and points[0] == data.get("one_liner"):  # the arXiv format repeats the one-liner as its first bullet
        data["key_points"] = points[1:]
    for key in ("difficulty", "confidence"):
        if record.get(key):
            data[key] = record[key]
    provenance = {key: "reference" for key in (*TEXT_SECTIONS, *LIST_SECTIONS) if data.get(key)}
    return Brief(**data, origin="llm", provenance=provenance)
