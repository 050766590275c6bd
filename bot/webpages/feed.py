"""`/feed.xml`: the archive as an Atom feed, one entry per digest (per day)."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response

from bot.webpages.page import SECURITY_HEADERS, UI, page_lang, settings_of, store_of, templates
from digest.links import lang_query, permalink
from digest.models import Digest
from digest.render import header_phrases
from digest.sections import LABELS

FEED_ENTRIES = 20
# Stable across hosts and renames of the public URL, so a feed reader never sees an old day as new.
FEED_TAG = "tag:paper-digest-bot,2026:"


async def feed(request: Request) -> Response:
    """Atom, one entry per digest (per day): a reader gets one item each morning, like the chat post."""
    lang = page_lang(request)
    store = store_of(request)
    public = (settings_of(request).public_url or str(request.base_url)).rstrip("/")
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
            "title": header_phrases(d, settings_of(request).timezone)["title"],
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
