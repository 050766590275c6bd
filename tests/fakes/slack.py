"""A strict fake Slack Web API on 127.0.0.1: the real slack_sdk/slack-bolt clients talk to it via SLACK_API_BASE_URL.

It checks the bearer token, enforces the Block Kit limits Slack enforces (50 blocks, 3,000 characters of section
text, 150 of header text, 40,000 of message text, what slack_sdk.models validates), keeps channels with their
membership, records every call and posted message, and scripts faults (429 + Retry-After, ok:false errors).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.base import FakeService

BOT_TOKEN = "xoxb-test-0000000000-fake-bot-token"
TEAM_ID = "T0TEST"
BOT_USER_ID = "U0BOT"


@dataclass
class Channel:
    id: str
    name: str
    is_private: bool = False
    is_archived: bool = False
    bot_member: bool = True


@dataclass
class Posted:
    """A message as Slack would store it: where, which thread, and its text and blocks."""

    method: str
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    peer_port: int | None = None  # the client's port: answers over one kept-alive connection share it


def block_kit_error(payload: dict[str, Any]) -> str | None:
    """The error Slack answers for this message payload, or None when Slack would take it."""
    blocks = payload.get("blocks")
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except ValueError:
            return "invalid_blocks_format"
    text = payload.get("text") or ""
    if not blocks and not text.strip():
        return "no_text"
    if len(text) > 40000:
        return "msg_too_long"
    if not blocks:
        return None
    if not isinstance(blocks, list) or len(blocks) > 50:
        return "invalid_blocks"
    for block in blocks:
        if not isinstance(block, dict):
            return "invalid_blocks"
        kind = block.get("type")
        if kind == "section" and len((block.get("text") or {}).get("text", "")) > 3000:
            return "invalid_blocks"
        if kind == "header" and len((block.get("text") or {}).get("text", "")) > 150:
            return "invalid_blocks"
        if kind == "context" and len(block.get("elements", [])) > 10:
            return "invalid_blocks"
        try:
            parsed = Block.parse(block)
            if parsed is None:
                return "invalid_blocks"
            parsed.validate_json()
        except (SlackObjectFormationError, KeyError, TypeError, ValueError):
            return "invalid_blocks"
    return None


class FakeSlack(FakeService):
    """POST /api/<method> (bearer token required) and POST /response/<id> (the response_url of a command)."""

    def __init__(self, token: str = BOT_TOKEN) -> None:
        super().__init__()
        self.token = token
        self.revoked = False
        self.scopes = {"chat:write", "commands", "channels:join", "users:read"}
        self.channels: dict[str, Channel] = {
            "C0GENERAL": Channel("C0GENERAL", "general"),
            "C0PAPERS": Channel("C0PAPERS", "papers"),
        }
        self.users: dict[str, dict[str, Any]] = {
            "U0ADMIN": {"id": "U0ADMIN", "name": "admin", "is_admin": True, "is_owner": False},
            "U0OWNER": {"id": "U0OWNER", "name": "owner", "is_admin": False, "is_owner": True},
            "U0MEMBER": {"id": "U0MEMBER", "name": "member", "is_admin": False, "is_owner": False},
        }
        self.messages: list[Posted] = []
        self.responses: list[Posted] = []
        self._ts = 0
        self._ts_lock = threading.Lock()
        self.app = Starlette(
            routes=[
                Route("/api/{method}", self.api, methods=["GET", "POST"]),
                Route("/response/{hook}", self.response_url, methods=["POST"]),
            ]
        )

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"  # type: ignore[attr-defined]

    def response_url_for(self, hook: str) -> str:
        return f"{self.url}/response/{hook}"  # type: ignore[attr-defined]

    def next_ts(self) -> str:
        with self._ts_lock:
            self._ts += 1
            return f"1770940800.{self._ts:06d}"

    def posts_to(self, channel: str) -> list[Posted]:
        return [m for m in self.messages if m.channel == channel]

    @staticmethod
    async def _params(request: Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query_params)
        body = await request.body()
        kind = request.headers.get("content-type", "")
        if body and "json" in kind:
            params.update(json.loads(body))
        elif body:
            params.update(parse_qsl(body.decode("utf-8")))
        return params

    async def api(self, request: Request) -> Response:
        await self.record(request)
        method = request.path_params["method"]
        if (fault := await self.fault_for(request.url.path)) is not None:
            return fault
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return self._error("not_authed")
        if auth.removeprefix("Bearer ") != self.token:
            return self._error("invalid_auth")
        if self.revoked:
            return self._error("token_revoked")
        try:
            params = await self._params(request)
        except ValueError:
            return self._error("invalid_json")
        handler = getattr(self, "m_" + method.replace(".", "_"), None)
        if handler is None:
            return self._error("unknown_method")
        return await handler(params)

    @staticmethod
    def _error(error: str, **extra: Any) -> JSONResponse:
        return JSONResponse({"ok": False, "error": error, **extra})

    async def m_auth_test(self, params: dict[str, Any]) -> Response:
        return JSONResponse(
            {"ok": True, "url": "https://fake.slack.test/", "team": "Test", "user": "digestbot", "team_id": TEAM_ID}
            | {"user_id": BOT_USER_ID, "bot_id": "B0BOT", "is_enterprise_install": False}
        )

    async def m_users_info(self, params: dict[str, Any]) -> Response:
        user = self.users.get(params.get("user", ""))
        if user is None:
            return self._error("user_not_found")
        return JSONResponse({"ok": True, "user": user})

    def _channel_error(self, channel_id: str) -> tuple[Channel | None, str | None]:
        channel = self.channels.get(channel_id)
        if channel is None:
            return None, "channel_not_found"
        if channel.is_archived:
            return channel, "is_archived"
        return channel, None

    async def m_conversations_join(self, params: dict[str, Any]) -> Response:
        channel, error = self._channel_error(params.get("channel", ""))
        if error or channel is None:
            return self._error(error or "channel_not_found")
        if channel.is_private:
            return self._error("method_not_supported_for_channel_type")
        if "channels:join" not in self.scopes:
            return self._error("missing_scope", needed="channels:join")
        channel.bot_member = True
        return JSONResponse({"ok": True, "channel": {"id": channel.id, "name": channel.name}})

    async def m_chat_postMessage(self, params: dict[str, Any]) -> Response:
        return self._post("chat.postMessage", params)

    async def m_chat_postEphemeral(self, params: dict[str, Any]) -> Response:
        if not params.get("user"):
            return self._error("user_not_found")
        return self._post("chat.postEphemeral", params)

    def _post(self, method: str, params: dict[str, Any]) -> Response:
        channel, error = self._channel_error(params.get("channel", ""))
        if error is None and channel is not None and not channel.bot_member:
            error = "not_in_channel"
        error = error or block_kit_error(params)
        if error:
            return self._error(error)
        ts = self.next_ts()
        blocks = params.get("blocks") or []
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        self.messages.append(
            Posted(method, params["channel"], ts, params.get("text") or "", blocks, params.get("thread_ts"), params)
        )
        key = "message_ts" if method == "chat.postEphemeral" else "ts"
        return JSONResponse({"ok": True, "channel": params["channel"], key: ts})

    async def response_url(self, request: Request) -> Response:
        """Slack answers a response_url post with 200 "ok", or 4xx and a short error text."""
        await self.record(request)
        if (fault := await self.fault_for(request.url.path)) is not None:
            return fault
        try:
            payload = json.loads(await request.body())
        except ValueError:
            return Response("invalid_payload", status_code=400)
        if (error := block_kit_error(payload)) is not None:
            return Response(error, status_code=400)
        self.responses.append(
            Posted(
                "response_url",
                request.path_params["hook"],
                self.next_ts(),
                payload.get("text") or "",
                payload.get("blocks") or [],
                payload.get("thread_ts"),
                payload,
                request.client.port if request.client else None,
            )
        )
        return Response("ok")


def signed_headers(secret: str, body: str, *, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack sends: X-Slack-Request-Timestamp and an X-Slack-Signature made by slack_sdk's verifier."""
    import time

    from slack_sdk.signature import SignatureVerifier

    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": str(signature)}
