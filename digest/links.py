"""Permalinks into the web archive: the one place that knows the shape of `/d/<date>?lang=..#<rank>-<section>`.

The chat adapters put these under each paper ("전체 보기"); the pages and the feed use the same function,
so a link in a post and the anchor on the page cannot drift apart.
"""

from __future__ import annotations

from datetime import date

from digest.models import Lang
from digest.sections import SECTION_BY_KEY

# The page without `?lang=` shows the Korean digest (the product's language); English is asked for explicitly.
DEFAULT_PAGE_LANG: Lang = "ko"


def anchor(rank: int, section: str | None = None) -> str:
    """The id of a paper (`3`) or of one of its sections (`3-risks`) on the digest page."""
    if section is None or section == "all":
        return str(rank)
    if section not in SECTION_BY_KEY:
        raise ValueError(f"unknown section {section!r}; one of {', '.join(SECTION_BY_KEY)}")
    return f"{rank}-{section}"


def lang_query(lang: Lang) -> str:
    """`?lang=en`, or nothing for the default language: the same rule for pages and the feed."""
    return "" if lang == DEFAULT_PAGE_LANG else f"?lang={lang}"


def digest_path(day: date, lang: Lang = DEFAULT_PAGE_LANG) -> str:
    """The path of a digest page, relative to the site root."""
    return f"/d/{day.isoformat()}{lang_query(lang)}"


def permalink(
    public_url: str | None,
    day: date,
    rank: int | None = None,
    section: str | None = None,
    lang: Lang = DEFAULT_PAGE_LANG,
) -> str:
    """`{public_url}/d/{day}[?lang=en][#rank[-section]]`; a path alone when public_url is None or empty.

    `section` is a key of digest.sections (e.g. "risks"); "all" or None points at the paper itself.
    """
    link = (public_url or "").rstrip("/") + digest_path(day, lang)
    if rank is not None:
        link += "#" + anchor(rank, section)
    elif section is not None:
        raise ValueError("a section anchor needs the paper's rank")
    return link
