"""arXiv identifiers with their version: `2602.12205`, `2602.12205v2`, `arXiv:2602.12205`, abs/pdf/html URLs.

When a paper's version is unknown (Hugging Face lists papers without one), its full text is taken from v1:
the version the daily lists announce and the abstract the brief is written from, and a choice that needs no
request, so a rebuild finds the cached parse without asking arXiv which version is the latest.
"""

from __future__ import annotations

import re

DEFAULT_VERSION = 1

_NEW_STYLE = r"\d{4}\.\d{4,5}"
_OLD_STYLE = r"[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7}"
_ID = re.compile(rf"(?:{_NEW_STYLE}|{_OLD_STYLE})")
_REF = re.compile(
    r"\s*(?:https?://)?(?:www\.|export\.)?"
    r"(?:(?:arxiv\.org/(?:abs|pdf|html)/)|(?:huggingface\.co/papers/)|(?:arxiv:))?"
    rf"(?P<id>{_NEW_STYLE}|{_OLD_STYLE})(?:v(?P<version>\d{{1,3}}))?(?:\.pdf)?/?\s*",
    re.IGNORECASE,
)


class PaperRefError(ValueError):
    """Not an arXiv id or URL; the message shows what would work."""


def is_arxiv_id(paper_id: str) -> bool:
    """A bare arXiv id (no version): only these are fetched, so nothing else reaches a URL path."""
    return _ID.fullmatch(paper_id) is not None


def parse_paper_ref(text: str) -> tuple[str, int | None]:
    """(id, version or None) from an id or an arXiv / Hugging Face URL."""
    match = _REF.fullmatch(text or "")
    if match is None or not is_arxiv_id(match["id"]):
        shown = (text or "").strip()[:60]
        raise PaperRefError(
            f"{shown!r} is not an arXiv id; use e.g. 2602.12205, 2602.12205v2 or https://arxiv.org/abs/2602.12205"
        )
    version = int(match["version"]) if match["version"] else None
    if version == 0:
        raise PaperRefError(f"{text.strip()!r}: arXiv versions start at v1; use e.g. 2602.12205 or 2602.12205v2")
    return match["id"], version
