"""A strict fake Telegram Bot API on 127.0.0.1: real python-telegram-bot talks to it through base_url.

It parses HTML the way Telegram does (a small set of tags, four named entities, balanced nesting) and
answers what Telegram answers for bad entities, long texts and captions, oversized callback data, blocked
bots, migrated groups and flood control. Every call is recorded; every message is kept per chat.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.base import FakeService

TOKEN = "123456789:TEST-fake-token-for-tests-only-0123456789"
BOT_USER = {"id": 123456789, "is_bot": True, "first_name": "Paper Digest", "username": "paper_digest_test_bot"}

ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-emoji",
}
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>\"']+))?)*)\s*>")
_ATTR = re.compile(r"([a-zA-Z-]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>\"']+)))?")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
MESSAGE_LIMIT, CAPTION_LIMIT = 4096, 1024
SENDING = {"sendMessage", "sendPhoto", "editMessageText", "editMessageCaption"}


class ParseError(Exception):
    pass


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _unescape(raw: str, at: int) -> str:
    out = []
    pos = 0
    while pos < len(raw):
        if raw[pos] != "&":
            out.append(raw[pos])
            pos += 1
            continue
        m = _ENTITY.match(raw, pos)
        if not m:
            raise ParseError(f"Unsupported HTML entity at byte offset {at + pos}")
        name = m.group(1)
        if name.startswith("#"):
            code = int(name[2:], 16) if name[1:2] == "x" else int(name[1:])
            if code == 0 or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
                raise ParseError(f"Invalid numeric entity at byte offset {at + pos}")
            out.append(chr(code))
        else:
            out.append(_NAMED[name])
        pos = m.end()
    return "".join(out)


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's HTML parse mode: the text and its entities, or ParseError with Telegram's wording."""
    text: list[str] = []
    length = 0  # UTF-16 units of the text so far (entity offsets are in UTF-16)
    stack: list[tuple[str, int, dict[str, str]]] = []
    entities: list[dict[str, Any]] = []
    pos = 0
    while pos < len(source):
        nxt = min((p for p in (source.find("<", pos), source.find(">", pos)) if p >= 0), default=len(source))
        if nxt > pos:
            chunk = _unescape(source[pos:nxt], pos)
            text.append(chunk)
            length += utf16_len(chunk)
            pos = nxt
            continue
        if source[pos] == ">":
            raise ParseError(f"Unexpected end tag at byte offset {pos}")
        m = _TAG.match(source, pos)
        if not m:
            raise ParseError(f"Unsupported start tag at byte offset {pos}")
        closing, name, attrs_raw = m.group(1) == "/", m.group(2).lower(), m.group(3)
        if name not in ALLOWED_TAGS:
            raise ParseError(f'Unsupported start tag "{name}" at byte offset {pos}')
        if closing:
            if not stack or stack[-1][0] != name:
                raise ParseError(
                    f'Unmatched end tag at byte offset {pos}, expected "</{stack[-1][0] if stack else ""}>"'
                )
            tag, start, attrs = stack.pop()
            if length > start:
                entity: dict[str, Any] = {"type": tag, "offset": start, "length": length - start}
                if tag == "a":
                    entity = {"type": "text_link", "offset": start, "length": length - start, "url": attrs["href"]}
                entities.append(entity)
        else:
            attrs = {
                a.group(1).lower(): _unescape(a.group(2) or a.group(3) or a.group(4) or "", pos)
                for a in _ATTR.finditer(attrs_raw)
            }
            if name == "a" and not re.match(r"(https?://|tg://|mailto:)\S+$", attrs.get("href", "")):
                raise ParseError(f"Wrong HTTP URL at byte offset {pos}")
            if stack and stack[-1][0] in ("code", "pre") and not (stack[-1][0] == "pre" and name == "code"):
                raise ParseError(f"Can't nest tags inside code at byte offset {pos}")
            stack.append((name, length, attrs))
        pos = m.end()
    if stack:
        raise ParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return "".join(text), entities


class BadRequest(Exception):
    pass


def check_message(source: str, parse_mode: str | None, *, caption: bool = False) -> tuple[str, list[dict[str, Any]]]:
    """What Telegram checks on a text or caption: the parse mode, then emptiness and length after parsing."""
    if parse_mode is None or parse_mode == "":
        text, entities = source, []
    elif parse_mode.upper() == "HTML":
        text, entities = parse_html(source)
    else:
        raise BadRequest(f"unsupported parse_mode {parse_mode!r} in this fake")
    if not caption and not text.strip():
        raise BadRequest("message text is empty")
    if utf16_len(text) > (CAPTION_LIMIT if caption else MESSAGE_LIMIT):
        raise BadRequest("message caption is too long" if caption else "message is too long")
    return text, entities


@dataclass
class Sent:
    """One message as the fake keeps it: what a user would see in the chat."""

    chat_id: int
    message_id: int
    method: str
    text: str
    source: str  # the raw text or caption as sent
    parse_mode: str | None
    entities: list[dict[str, Any]]
    reply_markup: dict[str, Any] | None = None
    photo: str | None = None
    preview: dict[str, Any] | None = None  # link_preview_options as sent
    at: float = field(default_factory=time.monotonic)
    edits: int = 0


def _error(code: int, description: str, **parameters: Any) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return JSONResponse(body, status_code=code)


class FakeTelegram(FakeService):
    def __init__(self, token: str = TOKEN) -> None:
        super().__init__()
        self.token = token
        self.messages: dict[int, list[Sent]] = defaultdict(list)
        self.commands: list[dict[str, Any]] = []
        self.commands_by_language: dict[str, list[Any]] = {}
        self.webhook: dict[str, Any] = {}
        self.callback_answers: list[dict[str, Any]] = []
        self.updates: deque[dict[str, Any]] = deque()
        self.admins: dict[int, set[int]] = defaultdict(set)
        self.blocked: set[int] = set()  # chats where the bot was blocked or kicked: 403
        self.migrated: dict[int, int] = {}  # group id -> supergroup id: 400 with migrate_to_chat_id
        self.bad_photos: set[str] = set()  # photo URLs Telegram cannot fetch
        self.overall_per_s: int | None = None  # flood control, off unless a test or bench sets it
        self.per_chat_interval_s: float | None = None
        self.rejected_429 = 0
        self.latency_s = 0.0  # added to every call (a slow Bot API), off unless a test or bench sets it
        self._gates: list[tuple[str | None, int | None, threading.Event]] = []
        self._recent: deque[float] = deque()
        self._last_in_chat: dict[int, float] = {}
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(1)
        self.app = Starlette(routes=[Route("/bot{token}/{method}", self.handle, methods=["GET", "POST"])])

    # -- what tests use --------------------------------------------------------------------------------

    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), **update}
        self.updates.append(update)
        return update

    def hold(self, method: str | None = None, chat_id: int | None = None) -> threading.Event:
        """Calls of `method` (any when None) about `chat_id` (any when None) wait until the returned event is set:
        a Bot API that has not answered yet, with no clock involved."""
        gate = threading.Event()
        with self._lock:
            self._gates.append((method, chat_id, gate))
        return gate

    async def _wait_for_gates(self, method: str, params: dict[str, Any]) -> None:
        chat = params.get("chat_id")
        with self._lock:
            gates = [g for m, c, g in self._gates if m in (None, method) and (c is None or str(c) == str(chat))]
        for gate in gates:
            while not gate.is_set():
                await asyncio.sleep(0.005)

    def sent(self, chat_id: int | None = None) -> list[Sent]:
        with self._lock:
            if chat_id is not None:
                return list(self.messages.get(chat_id, []))
            return [m for msgs in self.messages.values() for m in msgs]

    # -- the API ---------------------------------------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        call = await self.record(request)
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.path_params["method"]
        fault = await self.fault_for(method)
        if fault is not None:
            return fault
        params = self._params(call.body, call.headers.get("content-type", ""), call.query)
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        await self._wait_for_gates(method, params)
        handler = getattr(self, f"api_{method}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        if method in SENDING:
            refused = self._chat_refusal(params) or self._flood(params)
            if refused is not None:
                return refused
        try:
            result = await handler(params)
        except ParseError as exc:
            return _error(400, f"Bad Request: can't parse entities: {exc}")
        except BadRequest as exc:
            return _error(400, f"Bad Request: {exc}")
        if isinstance(result, Response):
            return result
        return JSONResponse({"ok": True, "result": result})

    @staticmethod
    def _params(body: bytes, content_type: str, query: dict[str, str]) -> dict[str, Any]:
        if "json" in content_type and body:
            return dict(json.loads(body))
        if "multipart" in content_type:
            raise BadRequest("uploads are not supported by the fake")
        params: dict[str, Any] = dict(query)
        params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        return params

    def _chat_refusal(self, params: dict[str, Any]) -> Response | None:
        chat_id = int(params.get("chat_id", 0))
        if chat_id in self.blocked:
            return _error(403, "Forbidden: bot was blocked by the user")
        if chat_id in self.migrated:
            return _error(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                migrate_to_chat_id=self.migrated[chat_id],
            )
        return None

    def _flood(self, params: dict[str, Any]) -> Response | None:
        """30 messages/s overall and 1/s per chat when switched on, as Telegram documents them."""
        now = time.monotonic()
        chat_id = int(params.get("chat_id", 0))
        with self._lock:
            while self._recent and now - self._recent[0] >= 1.0:
                self._recent.popleft()
            too_fast = self.overall_per_s is not None and len(self._recent) >= self.overall_per_s
            last = self._last_in_chat.get(chat_id)
            too_fast = too_fast or (
                self.per_chat_interval_s is not None and last is not None and now - last < self.per_chat_interval_s
            )
            if too_fast:
                self.rejected_429 += 1
                return _error(429, "Too Many Requests: retry after 1", retry_after=1)
            self._recent.append(now)
            self._last_in_chat[chat_id] = now
        return None

    def _message_json(self, sent: Sent) -> dict[str, Any]:
        chat_type = (
            "private" if sent.chat_id > 0 else ("supergroup" if str(sent.chat_id).startswith("-100") else "group")
        )
        out: dict[str, Any] = {
            "message_id": sent.message_id,
            "date": int(time.time()),
            "chat": {"id": sent.chat_id, "type": chat_type},
            "from": BOT_USER,
        }
        key = "caption" if sent.photo else "text"
        out[key] = sent.text
        if sent.entities:
            out["caption_entities" if sent.photo else "entities"] = sent.entities
        if sent.photo:
            out["photo"] = [{"file_id": "photo-1", "file_unique_id": "p1", "width": 320, "height": 240}]
        if sent.reply_markup:
            out["reply_markup"] = sent.reply_markup
        return out

    @staticmethod
    def _markup(params: dict[str, Any]) -> dict[str, Any] | None:
        raw = params.get("reply_markup")
        if not raw:
            return None
        markup = json.loads(raw) if isinstance(raw, str) else raw
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode("utf-8")) <= 64:
                    raise BadRequest("BUTTON_DATA_INVALID")
        return dict(markup)

    def _store(self, sent: Sent) -> dict[str, Any]:
        with self._lock:
            self.messages[sent.chat_id].append(sent)
        return self._message_json(sent)

    async def api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **BOT_USER,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _new(
        self, method: str, params: dict[str, Any], checked: tuple[str, list[dict[str, Any]]], photo: str | None = None
    ) -> dict[str, Any]:
        markup = self._markup(params)
        source = str(params.get("caption" if photo else "text", ""))
        chat_id, parse_mode = int(params["chat_id"]), params.get("parse_mode")
        sent = Sent(chat_id, next(self._ids), method, checked[0], source, parse_mode, checked[1], markup, photo)
        if params.get("link_preview_options"):
            sent.preview = json.loads(params["link_preview_options"])
        return self._store(sent)

    async def api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        checked = check_message(str(params.get("text", "")), params.get("parse_mode"))
        return self._new("sendMessage", params, checked)

    async def api_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        photo = str(params.get("photo", ""))
        checked = check_message(str(params.get("caption", "")), params.get("parse_mode"), caption=True)
        if not photo.startswith(("http://", "https://")) or photo in self.bad_photos:
            raise BadRequest("wrong type of the web page content")
        return self._new("sendPhoto", params, checked, photo)

    async def api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id, message_id = int(params["chat_id"]), int(params["message_id"])
        source = str(params.get("text", ""))
        text, entities = check_message(source, params.get("parse_mode"))
        markup = self._markup(params)
        with self._lock:
            target = next((m for m in self.messages.get(chat_id, []) if m.message_id == message_id), None)
        if target is None:
            raise BadRequest("message to edit not found")
        if target.photo:
            raise BadRequest("there is no text in the message to edit")
        if target.text == text and target.entities == entities and target.reply_markup == markup:
            raise BadRequest(
                "message is not modified: specified new message content and reply markup are exactly the same "
                "as a current content and reply markup of the message"
            )
        with self._lock:
            target.text, target.source, target.entities, target.reply_markup = text, source, entities, markup
            target.parse_mode = params.get("parse_mode")
            target.edits += 1
        return self._message_json(target)

    async def api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        if utf16_len(str(params.get("text", ""))) > 200:
            raise BadRequest("MESSAGE_TOO_LONG")
        with self._lock:
            self.callback_answers.append(params)
        return True

    async def api_setMyCommands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        commands = json.loads(commands) if isinstance(commands, str) else commands
        for c in commands or []:
            if (
                not re.fullmatch(r"[a-z0-9_]{1,32}", c.get("command", ""))
                or not 1 <= len(c.get("description", "")) <= 256
            ):
                raise BadRequest("BOT_COMMAND_INVALID")
        language = str(params.get("language_code") or "")
        self.commands_by_language[language] = list(commands or [])
        if not language:
            self.commands = list(commands or [])
        return True

    async def api_getMyCommands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self.commands

    async def api_setWebhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url", ""))
        if url and not url.startswith("https://"):
            raise BadRequest("bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook = dict(params)
        return True

    async def api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = {}
        return True

    async def api_getChatMember(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id, user_id = int(params["chat_id"]), int(params["user_id"])
        user = {"id": user_id, "is_bot": False, "first_name": f"user{user_id}"}
        if user_id in self.admins.get(chat_id, set()):
            return {"status": "creator", "user": user, "is_anonymous": False}
        return {"status": "member", "user": user}

    async def api_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 1.0)
        while True:
            with self._lock:
                while self.updates and self.updates[0]["update_id"] < offset:
                    self.updates.popleft()
                ready = list(self.updates)
            if ready or time.monotonic() >= deadline:
                return ready
            await asyncio.sleep(0.02)
