"""Fake Hugging Face Daily Papers and arXiv API, serving the bundled sample days (digest/sample)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from digest.sources.sample import sample_dir
from tests.fakes.base import FakeService


class FakeHuggingFace(FakeService):
    """`GET /api/daily_papers?date=&p=&limit=`; days come from the sample folder or `self.days`."""

    def __init__(self, folder: Path | None = None) -> None:
        super().__init__()
        self.days: dict[str, list[dict]] = {}
        for path in (folder or sample_dir()).glob("daily_papers_*.json"):
            self.days[path.stem.removeprefix("daily_papers_")] = json.loads(path.read_text(encoding="utf-8"))
        self.app = Starlette(routes=[Route("/api/daily_papers", self.daily_papers)])

    async def daily_papers(self, request: Request) -> Response:
        await self.record(request)
        if (fault := await self.fault_for(request.url.path)) is not None:
            return fault
        day = request.query_params.get("date", "")
        try:
            date.fromisoformat(day)
            page = int(request.query_params.get("p", "0"))
            limit = int(request.query_params.get("limit", "50"))
        except ValueError:
            return JSONResponse({"error": "Invalid query"}, status_code=400)
        items = self.days.get(day, [])
        return JSONResponse(items[page * limit : (page + 1) * limit])


class FakeArxiv(FakeService):
    """`GET /api/query`: the Atom file whose day matches the submittedDate range in search_query."""

    def __init__(self, folder: Path | None = None) -> None:
        super().__init__()
        self.days: dict[str, bytes] = {}
        for path in (folder or sample_dir()).glob("query_cs.AI_cs.LG_*.atom.xml"):
            self.days[path.name.removesuffix(".atom.xml")[-10:]] = path.read_bytes()
        self.app = Starlette(routes=[Route("/api/query", self.query)])

    async def query(self, request: Request) -> Response:
        await self.record(request)
        if (fault := await self.fault_for(request.url.path)) is not None:
            return fault
        query = request.query_params.get("search_query", "")
        start = int(request.query_params.get("start", "0"))
        for day, body in self.days.items():
            if f"submittedDate:[{day.replace('-', '')}0000" in query and start == 0:
                return Response(body, media_type="application/atom+xml")
        empty = (
            '<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
            'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"><title>arXiv Query</title>'
            "<opensearch:totalResults>0</opensearch:totalResults></feed>"
        )
        return Response(empty, media_type="application/atom+xml")
