"""The page frame of the web archive: the template environment, the frame's words, the security headers, and
what every view reads from the request.

Pages are Jinja2 templates with autoescaping on: paper metadata and LLM text are never trusted as markup.
Every page works offline under a strict Content-Security-Policy: one stylesheet from /static, no script,
no inline style, no external font. Only thumbnails (https) come from elsewhere.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from digest.links import DEFAULT_PAGE_LANG, anchor, digest_path, lang_query, permalink
from digest.models import LANGS, Lang
from digest.render import actions_heading, parts_note, phrase, usage_used
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
from digest.store import Store

HERE = Path(str(resources.files("bot.webpages")))  # templates/ and static/, shipped as package data

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' https: data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
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
        usage_used=usage_used,
        actions_heading=actions_heading,
        section_by_key=SECTION_BY_KEY,
    )
    return env


templates = Jinja2Templates(env=_environment())


def page_lang(request: Request, default: Lang = DEFAULT_PAGE_LANG) -> Lang:
    """The ?lang= of the request (the default page language without it); 404 for a language there is not."""
    value = request.query_params.get("lang")
    if value is None:
        return default
    if value not in LANGS:
        raise HTTPException(404)
    return value  # type: ignore[return-value]


def page(request: Request, name: str, lang: Lang, status: int = 200, **context: Any) -> Response:
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


def store_of(request: Request) -> Store:
    return request.app.state.store  # type: ignore[no-any-return]


def settings_of(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def lenient_lang(request: Request) -> Lang:
    """The page language of an error page, which must not fail on a bad ?lang= itself."""
    value = request.query_params.get("lang")
    return value if value in LANGS else DEFAULT_PAGE_LANG  # type: ignore[return-value]
