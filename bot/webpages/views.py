"""The archive's HTML views: `/` (every digest), `/d/<date>` (one digest), and the friendly 404/503/500 pages."""

from __future__ import annotations

import logging
import re
from datetime import date

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot.webpages.page import SECURITY_HEADERS, UI, lenient_lang, page, page_lang, settings_of, store_of
from digest.models import LANGS, Lang
from digest.render import header_phrases
from digest.store import StoreUnavailable

log = logging.getLogger(__name__)

INDEX_DETAIL = 30  # digests on `/` listed with their papers; older ones by date only (one store read each)
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


async def index(request: Request) -> Response:
    lang = page_lang(request)
    store = store_of(request)
    days = await store.list_dates(lang)
    recent = [d for d in [await store.get_digest(day, lang) for day in days[:INDEX_DETAIL]] if d is not None]
    older = days[INDEX_DETAIL:]
    return page(request, "index.html", lang, recent=recent, older=older)


def _parse_day(value: str) -> date | None:
    if not _DAY.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


async def digest_page(request: Request) -> Response:
    asked = request.query_params.get("lang")
    lang = page_lang(request)
    day = _parse_day(request.path_params["day"])
    if day is None:
        return await _not_found(request, lang)
    store = store_of(request)
    digest = await store.get_digest(day, lang)
    if digest is None and asked is None:
        # `/d/<date>` without ?lang: Korean first, else whatever language that day was built in.
        for other in LANGS:
            if other != lang and digest is None:
                digest = await store.get_digest(day, other)
    if digest is None:
        return await _not_found(request, lang, day)
    lang = digest.lang
    days = sorted(await store.list_dates(lang))
    older = max((d for d in days if d < day), default=None)
    newer = min((d for d in days if d > day), default=None)
    other_lang = next((o for o in LANGS if o != lang), None)
    other = other_lang if other_lang and await store.get_digest(day, other_lang) else None
    return page(
        request,
        "digest.html",
        lang,
        digest=digest,
        head=header_phrases(digest, settings_of(request).timezone),
        older=older,
        newer=newer,
        other_lang=other,
    )


def _nearest(days: list[date], day: date) -> date | None:
    # Closest in time; on a tie the later day, which has the fresher papers.
    return min(days, key=lambda d: (abs((d - day).days), -d.toordinal()), default=None)


async def _not_found(request: Request, lang: Lang, day: date | None = None) -> Response:
    """The friendly 404: what was missing, and a link to the nearest digest (or the newest when no date was asked)."""
    store = store_of(request)
    nearest: date | None = None
    other_lang_day: tuple[Lang, date] | None = None
    try:
        days = await store.list_dates(lang)
        nearest = _nearest(days, day) if day else (days[0] if days else None)
        if day is not None:
            for other in LANGS:
                if other != lang and await store.get_digest(day, other) is not None:
                    other_lang_day = (other, day)
    except StoreUnavailable:
        log.warning("store unavailable while rendering a 404")
    return page(request, "not_found.html", lang, 404, day=day, nearest=nearest, other_lang_day=other_lang_day)


async def not_found_handler(request: Request, exc: Exception) -> Response:
    lang = lenient_lang(request)
    return await _not_found(request, lang)


async def unavailable_handler(request: Request, exc: Exception) -> Response:
    log.warning("store unavailable: %s", exc)
    lang = lenient_lang(request)
    return page(request, "error.html", lang, 503, message=UI[lang]["unavailable"])


async def error_handler(request: Request, exc: Exception) -> Response:
    """Last resort for any route: a short page, never a stack trace (uvicorn still logs the traceback)."""
    lang = lenient_lang(request)
    try:
        return page(request, "error.html", lang, 500, message=UI[lang]["error"])
    except Exception:  # the error page itself failed: still no traceback to the reader
        log.exception("the error page failed")
        return PlainTextResponse(UI[lang]["error"], status_code=500, headers=SECURITY_HEADERS)
