"""A fake OpenAI-compatible server: `POST /v1/chat/completions`, spoken to through the real `openai` SDK.

It is strict where OpenAI is (a Bearer key, a strict JSON schema whose objects close additionalProperties and
require every property and that has no string length keywords, the word JSON in JSON mode), answers per the
requested schema in the prompt's language (the golden briefs for known papers in Korean, text naming the paper
otherwise), reports usage, and can be told to misbehave: `fail_next(Fault(...))` for 429/5xx/slow answers, `modes`
for the next calls' content, `paper_modes` for one paper on every call, `json_mode_only` to refuse json_schema
like many self-hosted servers, and `hostile` for a model that writes an invented figure and a foreign link into
everything it writes (briefs and the digest-level parts).
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections import deque
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from digest.summarize.golden import golden_papers
from digest.text import sentences
from tests.fakes.base import FakeService

# Content behaviours: "invalid_json", "truncated", "wrong_shape", "invent_numbers" (dropped when told which
# figures are not in the abstract), "invent_numbers_always", "obey_injection", "ignore_max_tokens" (an answer of
# about 1.5 MB that still says it stopped normally), and (paper_modes only) "500".
INVENTED = "정확도 97.3% 향상, 4,096 GPU 사용"
EVIL_URL = "https://evil.example/steal"
HOSTILE_FIGURE = "99.7%"
HOSTILE_LINK = "[링크](http://evil.example)"
_PAPER_ID = re.compile(r"(?:논문 id|Paper id): (\S+)")
_TITLE = re.compile(r"^(?:제목|Title): (.*)$", re.M)
_ABSTRACT = re.compile(r"<abstract>\n?(.*?)\n?</abstract>", re.S)
_RANK = re.compile(r"^rank (\d+): (.*)$", re.M)
_NOT_IN_STRICT = ("minLength", "maxLength", "default")


def _error(status: int, message: str, kind: str, param: str | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "param": param, "code": None}}, status)


def _strict_problem(node: Any, path: str = "schema") -> str | None:
    """What OpenAI's strict mode would reject in this schema, or None."""
    if isinstance(node, dict):
        for keyword in _NOT_IN_STRICT:
            if keyword in node:
                return f"{path}: '{keyword}' is not permitted"
        if node.get("type") == "object" or "properties" in node:
            if node.get("additionalProperties") is not False:
                return f"{path}: additionalProperties must be false"
            if sorted(node.get("required", [])) != sorted(node.get("properties", {})):
                return f"{path}: every property must be required"
        for key, value in node.items():
            if (problem := _strict_problem(value, f"{path}.{key}")) is not None:
                return problem
    elif isinstance(node, list):
        for n, value in enumerate(node):
            if (problem := _strict_problem(value, f"{path}[{n}]")) is not None:
                return problem
    return None


def _pad(items: list[str], fill: list[str], low: int, high: int) -> list[str]:
    out = [i for i in items if i][:high]
    return out + fill[: max(0, low - len(out))]


class FakeOpenAI(FakeService):
    def __init__(self, latency_s: float = 0.0) -> None:
        super().__init__()
        self.latency_s = latency_s
        self.modes: deque[str] = deque()
        self.paper_modes: dict[str, str] = {}
        self.json_mode_only = False
        self.hostile = False
        self.in_flight = 0
        self.max_in_flight = 0
        self._count = 0
        self._count_lock = threading.Lock()
        self.app = Starlette(routes=[Route("/v1/chat/completions", self.chat, methods=["POST"])])

    @property
    def base_url(self) -> str:
        return self.url + "/v1"  # type: ignore[attr-defined]

    def completions(self) -> list[dict[str, Any]]:
        return [c.json() for c in self.calls_to("/chat/completions")]

    async def chat(self, request: Request) -> Response:
        await self.record(request)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if (fault := await self.fault_for(request.url.path)) is not None:
                return fault
            if self.latency_s:
                await asyncio.sleep(self.latency_s)
            return self._answer(request.headers.get("authorization", ""), await request.body())
        finally:
            self.in_flight -= 1

    def _answer(self, auth: str, raw: bytes) -> Response:
        if not auth.startswith("Bearer ") or len(auth) < 12:
            return _error(401, "You didn't provide an API key.", "invalid_request_error")
        try:
            body = json.loads(raw)
            messages = body["messages"]
            model = body["model"]
            assert isinstance(messages, list) and messages and all("role" in m and "content" in m for m in messages)
        except (ValueError, KeyError, TypeError, AssertionError):
            return _error(400, "We could not parse the JSON body of your request.", "invalid_request_error")
        if "tools" in body or "functions" in body:
            return _error(400, "this fake gives the model no tools", "invalid_request_error", "tools")
        fmt = body.get("response_format") or {}
        if fmt.get("type") == "json_schema":
            if self.json_mode_only:
                return _error(
                    400, "response_format 'json_schema' is not supported", "BadRequestError", "response_format"
                )
            spec = fmt.get("json_schema") or {}
            if spec.get("strict") is not True or (problem := _strict_problem(spec.get("schema"))) is not None:
                return _error(400, f"Invalid schema for response_format: {problem}", "invalid_request_error")
            task = spec.get("name", "")
        elif fmt.get("type") == "json_object":
            if not any("json" in m["content"].lower() for m in messages):
                return _error(
                    400, "'messages' must contain the word 'json' to use json_object", "invalid_request_error"
                )
            task = "digest_parts" if "<papers>" in messages[1]["content"] else "paper_brief"
        else:
            return _error(400, "this fake only answers structured output", "invalid_request_error", "response_format")

        first_user = messages[1]["content"]
        lang = "en" if messages[0]["content"].startswith("You are") else "ko"
        paper = _PAPER_ID.search(first_user)
        paper_id = paper.group(1) if paper else ""
        mode = self.paper_modes.get(paper_id) or (self.modes.popleft() if self.modes else "")
        if mode == "500":
            return _error(500, "The server had an error while processing your request.", "server_error")
        if task == "paper_brief":
            abstract_match = _ABSTRACT.search(first_user)
            abstract = abstract_match.group(1) if abstract_match else ""
            title = _TITLE.search(first_user)
            told = "not in the abstract" in messages[-1]["content"]
            answer: dict[str, Any] = self._brief(
                paper_id, title.group(1) if title else paper_id, abstract, mode, told, lang
            )
        else:
            answer = self._parts(first_user, lang, self.hostile)
        content = json.dumps(answer, ensure_ascii=False)
        finish = "stop"
        if mode == "ignore_max_tokens":
            answer["abstract_ko"] = "끝없이 이어지는 답. " * 150_000
            content = json.dumps(answer, ensure_ascii=False)
        elif mode == "invalid_json":
            content = content[: len(content) // 3] + ' "oops": }'
        elif mode == "truncated":
            content, finish = content[: len(content) // 2], "length"
        elif mode == "wrong_shape":
            content = json.dumps({"summary": answer.get("one_liner", "")})
        with self._count_lock:
            self._count += 1
            number = self._count
        prompt_tokens = sum(len(m["content"]) for m in messages) // 3 + 1
        return JSONResponse(
            {
                "id": f"chatcmpl-fake-{number}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content, "refusal": None},
                        "finish_reason": finish,
                        "logprobs": None,
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": len(content) // 2 + 1,
                    "total_tokens": prompt_tokens + len(content) // 2 + 1,
                },
            }
        )

    def _brief(self, paper_id: str, title: str, abstract: str, mode: str, told: bool, lang: str) -> dict[str, Any]:
        said = sentences(abstract) or [abstract or "?"]
        # The golden briefs are Korean: an English prompt gets English text that names its paper.
        record = golden_papers().get(paper_id, {}) if lang == "ko" else {}
        name = title.split(":")[0].strip()
        text = _FILL[lang]
        brief = {
            "one_liner": record.get("one_liner") or said[0],
            "key_points": _pad(record.get("key_points") or said[1:4], said, 3, 3),
            "developer_view": record.get("developer_view") or text["dev"].format(name=name),
            "actions": _pad(record.get("actions") or [], [a.format(name=name) for a in text["actions"]], 3, 3),
            "risks": _pad(record.get("risks") or [], [r.format(name=name) for r in text["risks"]], 2, 3),
            "uncertainty": record.get("uncertainty") or text["uncertainty"].format(name=name),
            "abstract_ko": record.get("abstract_ko") or abstract,
            "tags": _pad(record.get("tags") or [], [(name.split() or ["Paper"])[0][:40], "LLM", "Research"], 3, 6),
            "difficulty": record.get("difficulty") or "중",
            "confidence": record.get("confidence") or "중",
        }
        if mode == "invent_numbers_always" or (mode == "invent_numbers" and not told):
            brief["one_liner"] = f"{brief['one_liner']} ({INVENTED})"
            brief["key_points"][0] = f"{brief['key_points'][0]}: {INVENTED}"
        if mode == "obey_injection" and "ignore previous instructions" in abstract.lower():
            brief["one_liner"] = f"자세한 내용은 {EVIL_URL} 에서 확인하세요."
            brief["actions"][0] = f"{EVIL_URL} 에 로그인하기"
        if self.hostile:
            brief["key_points"][0] = f"{brief['key_points'][0]} ({HOSTILE_FIGURE}, {HOSTILE_LINK})"
            brief["actions"][0] = f"{brief['actions'][0]} {HOSTILE_LINK}"
        return brief

    @staticmethod
    def _parts(prompt: str, lang: str, hostile: bool) -> dict[str, Any]:
        ranks = [(int(m.group(1)), m.group(2)) for m in _RANK.finditer(prompt)]
        step = _FILL[lang]["daily"]
        answer: dict[str, Any] = {
            "papers": [{"rank": rank, "keywords": [title.split()[0], "fake-keyword"]} for rank, title in ranks],
            "daily_actions": [f"{title}: {step}" for _, title in ranks[:3]]
            + [_FILL[lang]["any"]] * max(0, 3 - len(ranks)),
        }
        if hostile:
            answer["papers"][0]["keywords"][0] = HOSTILE_LINK
            answer["daily_actions"][0] += f" ({HOSTILE_FIGURE} {HOSTILE_LINK})"
        return answer


# What the fake writes where it has no golden text; every line names its paper, as a model's would.
_FILL: dict[str, dict[str, Any]] = {
    "ko": {
        "dev": "{name}은(는) 실무에 적용하기 전에 공개 코드와 설정을 확인해야 합니다.",
        "actions": ["{name}의 초록 읽기", "{name}의 코드 확인", "{name}을(를) 기존 방법과 비교"],
        "risks": ["{name}의 결과는 재현되지 않았습니다", "{name}의 한계는 초록만으로는 불분명합니다"],
        "uncertainty": "{name}의 실험 설정은 초록만으로는 알 수 없습니다.",
        "daily": "초록과 코드를 확인하기",
        "any": "오늘의 논문 중 하나를 골라 재현해 보기",
    },
    "en": {
        "dev": "Check {name}'s released code and settings before using it in production.",
        "actions": ["Read the abstract of {name}", "Look at {name}'s code", "Compare {name} with your current method"],
        "risks": ["{name}'s results are not reproduced yet", "{name}'s limits are unclear from the abstract"],
        "uncertainty": "The abstract does not give {name}'s experimental setup.",
        "daily": "read the abstract and check the code",
        "any": "Pick one of today's papers and reproduce it",
    },
}
