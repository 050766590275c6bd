"""The web archive of `digestbot serve`: `/` (every digest), `/d/<date>` (one digest), `/feed.xml` (Atom).

Pages are Jinja2 templates with autoescaping on: paper metadata and LLM text are never trusted as markup.
Every page works offline under a strict Content-Security-Policy: one stylesheet from /static, no script,
no inline style, no external font. Only thumbnails (https) come from elsewhere.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from digest.links import DEFAULT_PAGE_LANG, anchor, digest_path, lang_query, permalink
from digest.models import Digest, Lang
from digest.render import actions_heading, header_phrases, parts_note, phrase, usage_used
from digest.sections import (
    LABELS,
    SECTION_BY_KEY,
    fallback_note,
    meta_fields,
    present_sections,
    section_body,
    section_heading,
)
from digest.settings import Settings
from digest.store import Store, StoreUnavailable

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
LANGS: tuple[Lang, ...] = ("ko", "en")
INDEX_DETAIL = 30  # digests on `/` listed with their papers; older ones by date only (one store read each)
FEED_ENTRIES = 20
# Stable across hosts and renames of the public URL, so a feed reader never sees an old day as new.
FEED_TAG = "tag:paper-digest-bot,2026:"

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' https: data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")

# Words of the page frame only; section headings, labels and report phrases come from digest.sections/render.
UI: dict[Lang, dict[str, str]] = {
    "ko": {
        "site": "paper-digest-bot",
        "archive": "지난 다이제스트",
        "feed": "Atom 피드",
        "older": "← 이전 날",
        "newer": "다음 날 →",
        "other_lang": "English",
        "permalink": "이 항목 링크",
        "papers": "논문 {count}편",
        "empty_archive": "아직 저장된 다이제스트가 없습니다. `digestbot build`로 만들면 여기에 나타납니다.",
        "not_found": "찾는 페이지가 없습니다",
        "no_digest": "{day}의 다이제스트는 없습니다.",
        "no_digest_lang": "{day}의 다이제스트는 이 언어로는 없습니다.",
        "other_lang_here": "다른 언어로 보기: {day}",
        "nearest": "가장 가까운 날의 다이제스트: {day}",
        "bad_path": "주소를 다시 확인해 주세요. 다이제스트 주소는 /d/2026-02-13 처럼 날짜로 끝납니다.",
        "unavailable": "저장소에 잠시 닿지 않습니다. 조금 뒤에 다시 열어 주세요.",
        "error": "페이지를 만드는 중에 문제가 생겼습니다. 조금 뒤에 다시 열어 주세요.",
        "error_title": "잠시 문제가 생겼습니다",
        "feed_title": "paper-digest-bot: 매일 AI 논문 Top 5",
        "thumbnail": "{title} 썸네일",
    },
    "en": {
        "site": "paper-digest-bot",
        "archive": "Past digests",
        "feed": "Atom feed",
        "older": "← Older",
        "newer": "Newer →",
        "other_lang": "한국어",
        "permalink": "Link to this",
        "papers": "{count} papers",
        "empty_archive": "No digest is stored yet. Build one with `digestbot build` and it appears here.",
        "not_found": "Page not found",
        "no_digest": "There is no digest for {day}.",
        "no_digest_lang": "There is no digest for {day} in this language.",
        "other_lang_here": "In the other language: {day}",
        "nearest": "The nearest digest: {day}",
        "bad_path": "Please check the address: a digest's address ends with its date, like /d/2026-02-13.",
        "unavailable": "The store cannot be reached right now. Please try again in a moment.",
        "error": "Something went wrong while building this page. Please try again in a moment.",
        "error_title": "Something went wrong",
        "feed_title": "paper-digest-bot: the top 5 AI papers of each day",
        "thumbnail": "Thumbnail of {title}",
    },
}


def http_url(value: str | None) -> str | None:
    """Only http(s) links reach an href or src: a `javascript:` URL in metadata must not become a link."""
    if value and re.match(r"https?://", value, re.IGNORECASE):
        return value
    return None


def paragraphs(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(["html", "xml"], default_for_string=True, default=True),
        undefined=jinja2.StrictUndefined,  # a typo in a template fails the tests instead of rendering blank
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["http_url"] = http_url
    env.filters["paragraphs"] = paragraphs
    env.globals.update(
        anchor=anchor,
        permalink=permalink,
        digest_path=digest_path,
        section_body=section_body,
        section_heading=section_heading,
        present_sections=present_sections,
        meta_fields=meta_fields,
        fallback_note=fallback_note,
        parts_note=parts_note,
        actions_heading=actions_heading,
        usage_used=usage_used,
        section_by_key=SECTION_BY_KEY,
    )
    return env


templates = Jinja2Templates(env=_environment())


def _lang(request: Request, default: Lang = DEFAULT_PAGE_LANG) -> Lang:
    value = request.query_params.get("lang")
    if value is None:
        return default
    if value not in LANGS:
        raise HTTPException(404)
    return value  # type: ignore[return-value]


def _page(request: Request, name: str, lang: Lang, status: int = 200, **context: Any) -> Response:
    root = request.scope.get("root_path", "")
    context.update(
        lang=lang,
        ui=UI[lang],
        labels=LABELS[lang],
        root=root,
        home_path=f"{root}/{lang_query(lang)}",
        feed_path=f"{root}/feed.xml{lang_query(lang)}",
        phrase=lambda key, **values: phrase(lang, key, **values),
    )
    return templates.TemplateResponse(request, name, context, status_code=status, headers=SECURITY_HEADERS)


def _store(request: Request) -> Store:
    return request.app.state.store  # type: ignore[no-any-return]


def _settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def index(request: Request) -> Response:
    lang = _lang(request)
    store = _store(request)
    days = await store.list_dates(lang)
    recent = [d for d in [await store.get_digest(day, lang) for day in days[:INDEX_DETAIL]] if d is not None]
    older = days[INDEX_DETAIL:]
    return _page(request, "index.html", lang, recent=recent, older=older)


def _parse_day(value: str) -> date | None:
    if not _DAY.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


async def digest_page(request: Request) -> Response:
    asked = request.query_params.get("lang")
    lang = _lang(request)
    day = _parse_day(request.path_params["day"])
    if day is None:
        return await _not_found(request, lang)
    store = _store(request)
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
    return _page(
        request,
        "digest.html",
        lang,
        digest=digest,
        head=header_phrases(digest, _settings(request).timezone),
        older=older,
        newer=newer,
        other_lang=other,
    )


def _nearest(days: list[date], day: date) -> date | None:
    # Closest in time; on a tie the later day, which has the fresher papers.
    return min(days, key=lambda d: (abs((d - day).days), -d.toordinal()), default=None)


async def _not_found(request: Request, lang: Lang, day: date | None = None) -> Response:
    """The friendly 404: what was missing, and a link to the nearest digest (or the newest when no date was asked)."""
    store = _store(request)
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
    return _page(request, "not_found.html", lang, 404, day=day, nearest=nearest, other_lang_day=other_lang_day)


async def feed(request: Request) -> Response:
    """Atom, one entry per digest (per day): a reader gets one item each morning, like the chat post."""
    lang = _lang(request)
    store = _store(request)
    public = (_settings(request).public_url or str(request.base_url)).rstrip("/")
    digests: list[Digest] = []
    for day in (await store.list_dates(lang))[:FEED_ENTRIES]:
        digest = await store.get_digest(day, lang)
        if digest is not None:
            digests.append(digest)
    entries = [
        {
            "digest": d,
            "id": f"{FEED_TAG}digest/{d.date.isoformat()}/{lang}",
            "link": permalink(public, d.date, lang=lang),
            # Rendered (and escaped) here, then escaped again by feed.xml: Atom type="html" carries HTML as text.
            "content": templates.get_template("feed_entry.html").render(
                digest=d, public=public, lang=lang, labels=LABELS[lang]
            ),
            "title": header_phrases(d, _settings(request).timezone)["title"],
        }
        for d in digests
    ]
    updated = max((d.generated_at for d in digests), default=datetime(2026, 1, 1, tzinfo=UTC))
    query = lang_query(lang)
    body = templates.get_template("feed.xml").render(
        feed_id=f"{FEED_TAG}feed/{lang}",
        title=UI[lang]["feed_title"],
        lang=lang,
        self_url=f"{public}/feed.xml{query}",
        home_url=f"{public}/{query}",
        updated=updated,
        entries=entries,
    )
    return Response(body, media_type="application/atom+xml; charset=utf-8", headers=SECURITY_HEADERS)


async def not_found_handler(request: Request, exc: Exception) -> Response:
    lang: Lang = "en" if request.query_params.get("lang") == "en" else DEFAULT_PAGE_LANG
    return await _not_found(request, lang)


async def unavailable_handler(request: Request, exc: Exception) -> Response:
    log.warning("store unavailable: %s", exc)
    lang: Lang = "en" if request.query_params.get("lang") == "en" else DEFAULT_PAGE_LANG
    return _page(request, "error.html", lang, 503, message=UI[lang]["unavailable"])


async def error_handler(request: Request, exc: Exception) -> Response:
    """Last resort for any route: a short page, never a stack trace (uvicorn still logs the traceback)."""
    lang: Lang = "en" if request.query_params.get("lang") == "en" else DEFAULT_PAGE_LANG
    try:
        return _page(request, "error.html", lang, 500, message=UI[lang]["error"])
    except Exception:  # the error page itself failed: still no traceback to the reader
        log.exception("the error page failed")
        return PlainTextResponse(UI[lang]["error"], status_code=500, headers=SECURITY_HEADERS)


def install(app: Starlette) -> None:
    """Add the archive routes, the static files and the friendly 404/503/500 pages to the one ASGI app."""
    app.router.routes.extend(
        [
            Route("/", index, methods=["GET", "HEAD"], name="archive-index"),
            Route("/d/{day}", digest_page, methods=["GET", "HEAD"], name="archive-digest"),
            Route("/feed.xml", feed, methods=["GET", "HEAD"], name="archive-feed"),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="archive-static"),
        ]
    )
    app.add_exception_handler(404, not_found_handler)
    app.add_exception_handler(StoreUnavailable, unavailable_handler)
    app.add_exception_handler(Exception, error_handler)
