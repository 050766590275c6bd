"""The web archive of `digestbot serve`: `/` (every digest), `/d/<date>` (one digest), `/feed.xml` (Atom).

page.py is the frame every page shares (templates, words, security headers); views.py the HTML pages and the
friendly error pages; feed.py the Atom feed. `install` mounts them on the one ASGI app.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bot.webpages.feed import feed
from bot.webpages.page import HERE
from bot.webpages.views import digest_page, error_handler, index, not_found_handler, unavailable_handler
from digest.store import StoreUnavailable


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
