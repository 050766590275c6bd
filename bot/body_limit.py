"""Request bodies of `digestbot serve` are bounded: a POST larger than MAX_BODY_BYTES gets 413 before it is read.

A declared Content-Length over the limit is refused without reading a byte; a chunked body is read (into at
most MAX_BODY_BYTES plus one chunk) only until it passes the limit. The rest of an oversized body is never
buffered: once the 413 is sent, the HTTP server discards what the client still sends. Routes below this
middleware then read a body that is already complete and bounded, whatever their framework does with it.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_000_000  # Slack's and Telegram's payloads are a few KB; 1 MB leaves room for any real one
_WITHOUT_BODY = {"GET", "HEAD", "OPTIONS"}


async def _refuse(send: Send, status: int, detail: str) -> None:
    body = f'{{"ok": false, "error": "{detail}"}}'.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """ASGI middleware: bodies of at most `max_bytes`, read in full before the app sees the request."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _WITHOUT_BODY:
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await _refuse(send, 400, "bad content-length")
                return
            if int(declared) > self.max_bytes:
                log.warning("refused a %s-byte body to %s (limit %d)", declared.decode(), path, self.max_bytes)
                await _refuse(send, 413, f"body over {self.max_bytes} bytes")
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left; there is nobody to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                log.warning("refused a streamed body to %s after %d bytes (limit %d)", path, size, self.max_bytes)
                await _refuse(send, 413, f"body over {self.max_bytes} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive() that gives the whole body once, then whatever the server says next (a disconnect)."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
