"""What every fake shares: run a Starlette app on 127.0.0.1:0 in a thread, record calls, inject faults."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse, Response


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        import json

        return json.loads(self.body)


@dataclass
class Fault:
    """One scripted misbehaviour: an HTTP status (with headers and body), a delay, or both."""

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | str | dict[str, Any] | list[Any] = b""
    delay_s: float = 0.0
    path: str | None = None  # only for requests to this path; None = any

    def response(self) -> Response | None:
        if self.status is None:
            return None
        if isinstance(self.body, dict | list):
            return JSONResponse(self.body, status_code=self.status, headers=self.headers)
        return Response(self.body, status_code=self.status, headers=self.headers)


class FakeService:
    """Base for fakes: subclasses build `self.app`; `record` and `fault_for` go at the top of each handler."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.faults: deque[Fault] = deque()
        self._lock = threading.Lock()

    def fail_next(self, *faults: Fault) -> None:
        with self._lock:
            self.faults.extend(faults)

    async def record(self, request: Request) -> Call:
        call = Call(
            method=request.method,
            path=request.url.path,
            query=dict(request.query_params),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=await request.body(),
        )
        with self._lock:
            self.calls.append(call)
        return call

    async def fault_for(self, path: str) -> Response | None:
        """The next scripted fault for this path, applied: sleeps, then the response to send (or None)."""
        with self._lock:
            fault = next((f for f in self.faults if f.path in (None, path)), None)
            if fault is not None:
                self.faults.remove(fault)
        if fault is None:
            return None
        if fault.delay_s:
            await asyncio.sleep(fault.delay_s)
        return fault.response()

    def calls_to(self, path_suffix: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.path.endswith(path_suffix)]


class ServerThread:
    """A uvicorn server on 127.0.0.1 and a free port, in a daemon thread; `url` is its base URL."""

    def __init__(self, app: Any, *, lifespan: str = "auto") -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan=lifespan, access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = ""

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("fake server did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
