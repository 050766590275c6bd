"""The golden briefs of the reference days (digest/sample/golden), as pre-filled brief-cache entries.

They were written by an LLM for the bundled sample days, so `digestbot demo` shows real Korean briefs with
no key and no call. Sections the older formats lack are filled from the offline brief (never invented),
the seed defects that sit in brief text are fixed, and their links are never used (links come from Paper).
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

from digest.models import Brief, Paper
from digest.sources.sample import sample_dir
from digest.summarize.offline import offline_brief

# Seed defects in brief text (see each golden file's seed_defects): id -> (text replacements, tags to drop).
_FIXES: dict[str, tuple[dict[str, str], set[str]]] = {
    "2601.04151": ({"진보적인": "점진적인"}, set()),
    "2602.07085": ({"백테스킹": "백테스팅"}, set()),
    "2602.02488": ({"RLAnything는": "RLAnything은"}, set()),
    "2602.12036": ({}, {"Agent"}),
    "2602.12205": ({}, {"RAG", "Safety"}),
    "2602.10934": ({}, {"RAG", "Distillation"}),
}
_SECTIONS = tuple(name for name in Brief.model_fields if name != "origin")


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
    filler = offline_brief(paper, "ko")
    data: dict[str, Any] = {}
    for key in _SECTIONS:
        value = record.get(key)
        if value in (None, "", []):
            data[key] = getattr(filler, key)  # a section the older format lacks: the offline one, not invented
        elif isinstance(value, list):
            data[key] = [_fix(v, replacements) for v in value if v not in drop]
        else:
            data[key] = _fix(value, replacements)
    return Brief(**data, origin="llm")
