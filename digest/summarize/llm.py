"""LLM briefs: one structured-output call per paper, cached, checked for faithfulness, bounded in cost.

`BriefSummarizer` serves cache hits first. Misses go to the LLM when a client is given (concurrently, at most
`llm_concurrency` at a time), else to the offline brief. A paper whose call fails, whose JSON stays invalid
after one repair, or that does not fit the budget gets the offline brief: one paper never fails the digest.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from string import Template
from typing import Any, TypeVar

import openai
from openai import AsyncOpenAI
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from digest.models import Brief, Checks, Digest, Highlight, Item, Lang, Level, Paper, PartsSource, Usage
from digest.settings import ConfigError, Settings
from digest.store import Store, StoreUnavailable
from digest.summarize import BriefResult, DigestParts, Progress, Summary, _no_progress
from digest.summarize.cache import BriefCache
from digest.summarize.offline import digest_parts, offline_brief, short_title
from digest.verify import lower, strip_foreign_links, unsupported_numbers

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)

_USER_MARK = "=== user ==="
_FENCE_TAG = re.compile(r"</?\s*(abstract|briefs)\s*>", re.IGNORECASE)
_CODE_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")
_NOTES: dict[Lang, dict[str, str]] = {
    "ko": {
        "budget": "{day} 하루 LLM 예산(${limit:.2f})에 도달해 {count}편은 LLM 없이 자동 요약했습니다"
        "(이날 사용액 ${spent:.4f}, 같은 날의 다른 빌드 포함).",
        "budget_build": "저장소에 연결할 수 없어 이번 빌드에만 적용한 LLM 예산(${limit:.2f})에 도달해 "
        "{count}편은 LLM 없이 자동 요약했습니다.",
        "failed": "{count}편은 LLM 요약에 실패해 자동 요약으로 대신했습니다.",
    },
    "en": {
        "budget": "The daily LLM budget (${limit:.2f}) for {day} was reached (${spent:.4f} spent that day, other "
        "builds included), so {count} papers got automatic briefs without the LLM.",
        "budget_build": "The LLM budget (${limit:.2f}), applied to this build alone because the store was "
        "unavailable, was reached, so {count} papers got automatic briefs without the LLM.",
        "failed": "The LLM brief failed for {count} papers; they got automatic briefs instead.",
    },
}


# What the model writes. Titles, ids and links are not in it: they come from the paper's metadata.
class BriefOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    one_liner: str = Field(min_length=1)
    key_points: list[str] = Field(min_length=3, max_length=3)
    developer_view: str = Field(min_length=1)
    actions: list[str] = Field(min_length=3, max_length=3)
    risks: list[str] = Field(min_length=2, max_length=3)
    uncertainty: str = Field(min_length=1)
    abstract_ko: str = Field(min_length=1)
    tags: list[str] = Field(min_length=3, max_length=6)
    difficulty: Level
    confidence: Level


class PaperKeywords(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rank: int
    keywords: list[str] = Field(min_length=1, max_length=3)


class PartsOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    papers: list[PaperKeywords]
    daily_actions: list[str] = Field(min_length=3, max_length=3)


def strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema in the subset strict structured output accepts: every property required,
    no additional properties, no length keywords (pydantic still enforces them when the answer is validated)."""

    def fix(node: Any) -> Any:
        if isinstance(node, dict):
            node = {k: fix(v) for k, v in node.items() if k not in ("title", "minLength", "maxLength", "default")}
            if node.get("type") == "object" and "properties" in node:
                node["additionalProperties"] = False
                node["required"] = list(node["properties"])
            return node
        if isinstance(node, list):
            return [fix(v) for v in node]
        return node

    return fix(model.model_json_schema())


@dataclass(frozen=True)
class Prompt:
    """A versioned prompt file, `<task>.<lang>.v<N>.md`: system text, a `=== user ===` line, the user template."""

    task: str
    lang: Lang
    version: str
    system: str
    user: str

    def messages(self, **values: str) -> list[dict[str, str]]:
        return [
            {"role": "system", "content": self.system},
            {"role": "user", "content": Template(self.user).safe_substitute(values)},
        ]


def load_prompt(folder: Path, task: str, lang: Lang) -> Prompt:
    """The newest version of a prompt; a missing or malformed file is a configuration error."""
    found = []
    for path in folder.glob(f"{task}.{lang}.v*.md"):
        match = re.fullmatch(rf"{task}\.{lang}\.v(\d+)\.md", path.name)
        if match:
            found.append((int(match[1]), path))
    if not found:
        raise ConfigError(
            f"no prompt {task}.{lang}.v<N>.md in {folder}; set DIGEST_PROMPTS_DIR to the folder with the prompt files"
        )
    number, path = max(found)
    text = path.read_text(encoding="utf-8")
    if _USER_MARK not in text:
        raise ConfigError(f"prompt {path} has no '{_USER_MARK}' line between the system and the user part")
    system, user = text.split(_USER_MARK, 1)
    return Prompt(task, lang, f"v{number}", system.strip(), user.strip())


def fence(text: str) -> str:
    """Untrusted text inside a fenced prompt block: it cannot close the fence and speak as the prompt."""
    return _FENCE_TAG.sub("", text)


def make_client(settings: Settings) -> AsyncOpenAI | None:
    """The SDK client when a key is configured; it retries 429/5xx/timeouts itself (Retry-After honoured)."""
    if settings.openai_api_key is None:
        return None
    return AsyncOpenAI(
        api_key=settings.openai_api_key.get_secret_value(),
        base_url=settings.openai_base_url,
        timeout=settings.llm_timeout_s,
        max_retries=settings.llm_retries,
    )


@dataclass(frozen=True)
class Reservation:
    worst: float  # USD held for the call until it is settled
    day: date | None  # the day it is held against in the store; None: held in this build only


class Budget:
    """The LLM spend of each calendar day (DIGEST_TIMEZONE) against `limit` USD, shared by every build of the day.

    A call goes ahead only if its worst case still fits. It is reserved in the store first (one atomic add, so
    concurrent calls and builds cannot overrun the day together) and settled to the real cost when the answer
    arrives. When the store cannot be reached, the limit applies to this build's own spend (the per-build budget)
    for the rest of the build, and the log says so.
    """

    def __init__(
        self, limit: float | None, price_in: float, price_out: float, store: Store, today: Callable[[], date]
    ) -> None:
        self.limit = limit
        self.price_in = price_in / 1_000_000
        self.price_out = price_out / 1_000_000
        self.store = store
        self.today = today
        self.daily = True  # False once the store failed: the per-build budget from then on
        self.spent = 0.0  # this build's real spend
        self.reserved = 0.0  # this build's calls in flight, at their worst case
        self.refused_on: date | None = None  # the day whose budget refused a call

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        return tokens_in * self.price_in + tokens_out * self.price_out

    async def reserve(self, prompt_chars: int, max_out: int) -> Reservation | None:
        """Reserve the worst case of the next call (about 2 characters a token, all `max_out` used); None = over."""
        worst = self.cost(prompt_chars // 2 + 1, max_out)
        if self.daily and worst > 0:
            day = self.today()
            try:
                total = await self.store.add_spend(day, worst)
                if self.limit is not None and total > self.limit + 1e-9:
                    await self.store.add_spend(day, -worst)
                    self.refused_on = day
                    return None
            except StoreUnavailable as exc:
                self._per_build(exc)
            else:
                self.reserved += worst
                return Reservation(worst, day)
        if self.limit is not None and self.spent + self.reserved + worst > self.limit:
            return None
        self.reserved += worst
        return Reservation(worst, None)

    async def settle(self, reservation: Reservation, tokens_in: int, tokens_out: int) -> float:
        """Replace the reservation by the real cost (0 for a call that failed); returns the real cost."""
        self.reserved -= reservation.worst
        actual = self.cost(tokens_in, tokens_out)
        self.spent += actual
        if reservation.day is not None:
            try:
                await self.store.add_spend(reservation.day, actual - reservation.worst)
            except StoreUnavailable as exc:
                self._per_build(exc)
        return actual

    def _per_build(self, exc: StoreUnavailable) -> None:
        if self.daily:
            self.daily = False
            log.warning(
                "the day's LLM spend cannot be read or recorded (%s): the budget applies to this build alone", exc
            )

    async def note(self, lang: Lang, count: int) -> str:
        """Why `count` papers got no LLM brief: the day's budget (and what the day has spent), or this build's."""
        limit = self.limit or 0
        if self.refused_on is None:  # every refusal came after the store failed
            return _NOTES[lang]["budget_build"].format(limit=limit, count=count)
        try:
            spent = await self.store.get_spend(self.refused_on)
        except StoreUnavailable:
            spent = self.spent
        return _NOTES[lang]["budget"].format(limit=limit, count=count, day=self.refused_on.isoformat(), spent=spent)


class OverBudget(Exception):
    pass


class LLMFailed(Exception):
    """The call failed after the SDK's retries, or the answer stayed invalid; the paper gets the offline brief."""


@dataclass
class _Run:
    """What one summarize() spends and learns."""

    budget: Budget
    usage: Usage = field(default_factory=Usage)
    over_budget: int = 0
    failed: int = 0


class BriefSummarizer:
    """Brief cache first, then the LLM (when `client` is given) or the offline brief."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        client: AsyncOpenAI | None = None,
        *,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings
        self.client = client
        self.store = store
        self._now = now or (lambda: datetime.now(settings.tz))  # the budget's day is today in DIGEST_TIMEZONE
        self._json_mode = False  # set once the server refuses json_schema (vLLM, Ollama, llama.cpp...)
        self._disabled: str | None = None  # set once the key is refused: no point asking again in this build

    async def summarize(
        self, papers: list[Paper], lang: Lang, progress: Progress = _no_progress, *, previous: Digest | None = None
    ) -> Summary:
        self._disabled = None  # a refused key stops the calls of one build, not of every later one
        prompt = load_prompt(self.settings.prompts_dir, "brief", lang)
        cache = BriefCache(self.store, self.settings.model, prompt.version)
        price = self.settings.prices.get(self.settings.model)
        if price is None and self.client is not None:
            log.warning(
                "no price for model %s in `prices`: cost is reported as 0 and no budget applies", self.settings.model
            )
        run = _Run(
            Budget(
                self.settings.daily_budget_usd,
                price.input if price else 0,
                price.output if price else 0,
                self.store,
                lambda: self._now().astimezone(self.settings.tz).date(),
            )
        )

        cached = [await cache.get(p, lang) for p in papers]
        run.usage.cached_briefs = sum(b is not None for b in cached)
        semaphore = asyncio.Semaphore(self.settings.llm_concurrency)

        async def one(paper: Paper, hit: Brief | None) -> tuple[Brief, bool]:
            if hit is not None:
                return hit, False
            if self.client is None:
                return offline_brief(paper, lang), False
            async with semaphore:
                if self._disabled:  # checked once the turn comes: an earlier call may have had the key refused
                    run.failed += 1
                    return offline_brief(paper, lang), False
                try:
                    brief = await self._brief(paper, prompt, run)
                except OverBudget:
                    run.over_budget += 1
                    return offline_brief(paper, lang), False
                except LLMFailed as exc:
                    log.warning("paper %s: %s; it gets the offline brief", paper.id, exc)
                    run.failed += 1
                    return offline_brief(paper, lang), False
            await cache.put(paper, lang, brief)
            return brief, True

        done = await asyncio.gather(*(one(p, hit) for p, hit in zip(papers, cached, strict=True)))
        results = [
            self._checked(paper, brief, hit is not None)
            for paper, (brief, _), hit in zip(papers, done, cached, strict=True)
        ]
        fresh = sum(new for _, new in done)
        progress(
            f"briefs: {run.usage.cached_briefs} from cache, {fresh} by the LLM, "
            f"{sum(r.brief.origin == 'fallback' for r in results)} offline"
        )
        items = [Item(rank=n, paper=p, brief=r.brief) for n, (p, r) in enumerate(zip(papers, results, strict=True), 1)]
        parts = await self._parts(items, lang, run, reuse=previous)
        notes = []
        if run.over_budget:
            notes.append(await run.budget.note(lang, run.over_budget))
        if run.failed:
            notes.append(_NOTES[lang]["failed"].format(count=run.failed))
        return Summary(results=results, parts=parts, usage=run.usage, notes=notes)

    def _checked(self, paper: Paper, brief: Brief, cached: bool) -> BriefResult:
        """Faithfulness on every LLM brief, cached or new: unsupported figures are listed and lower the confidence."""
        if brief.origin != "llm":
            return BriefResult(brief, cached=cached)
        brief = strip_foreign_links(brief, paper)
        numbers = unsupported_numbers(brief, paper.abstract)
        if numbers:
            brief = brief.model_copy(update={"confidence": lower(brief.confidence)})
        return BriefResult(brief, Checks(unsupported_numbers=numbers), cached=cached)

    async def _brief(self, paper: Paper, prompt: Prompt, run: _Run) -> Brief:
        """One paper: a call, one repair for invalid JSON and one for unsupported figures, at most."""
        messages: list[dict[str, str]] = prompt.messages(
            paper_id=paper.id, title=fence(paper.title), abstract=fence(paper.abstract)
        )
        best: Brief | None = None
        repaired_json = repaired_numbers = False
        while True:
            content, out, error = await self._ask(messages, BriefOut, "paper_brief", run)
            if out is not None:
                best = strip_foreign_links(Brief(**out.model_dump(), origin="llm"), paper)
                numbers = unsupported_numbers(best, paper.abstract)
                if not numbers or repaired_numbers:
                    return best
                repaired_numbers = True
                feedback = (
                    "These figures are not in the abstract: "
                    + ", ".join(numbers)
                    + ". Remove them or copy the abstract's own figures exactly, then answer again with the complete "
                    "JSON object."
                )
            elif best is not None:
                return best  # the figures repair came back broken: keep the valid brief, its figures get listed
            elif repaired_json:
                raise LLMFailed(f"the answer was still not valid JSON after one repair ({error})")
            else:
                repaired_json = True
                feedback = f"Your answer was not valid: {error}. Answer again with the complete JSON object only."
            messages = [*messages, {"role": "assistant", "content": content}, {"role": "user", "content": feedback}]

    async def _ask(
        self, messages: list[dict[str, str]], model: type[M], name: str, run: _Run
    ) -> tuple[str, M | None, str]:
        """One call: (the raw answer, the validated object or None, the validation error)."""
        assert self.client is not None
        if self._json_mode:
            messages = self._with_schema(messages, model)
        reserved = await run.budget.reserve(
            sum(len(m["content"]) for m in messages), self.settings.llm_max_output_tokens
        )
        if reserved is None:
            raise OverBudget
        tokens_in = tokens_out = 0
        try:
            response = await self._create(messages, model, name, run, reserved)
        except openai.BadRequestError as exc:
            if not self._json_mode and _schema_refused(exc):
                log.warning("the server does not take a JSON schema; using JSON mode with validation from now on")
                self._json_mode = True
                return await self._ask(messages, model, name, run)
            raise LLMFailed(f"the LLM refused the request (HTTP 400: {_short(exc)})") from None
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            self._disabled = f"HTTP {exc.status_code}"
            raise LLMFailed(f"the LLM refused the key (HTTP {exc.status_code}); check OPENAI_API_KEY") from None
        except openai.APITimeoutError:
            raise LLMFailed(f"the LLM did not answer within {self.settings.llm_timeout_s:g} s") from None
        except openai.APIStatusError as exc:
            raise LLMFailed(f"the LLM answered HTTP {exc.status_code} after retries") from None
        except openai.APIError as exc:  # connection errors and answers the SDK cannot read
            raise LLMFailed(f"the LLM could not be reached ({type(exc).__name__})") from None
        if response.usage is not None:
            tokens_in, tokens_out = response.usage.prompt_tokens or 0, response.usage.completion_tokens or 0
        cost = await run.budget.settle(reserved, tokens_in, tokens_out)  # awaited before the totals are read
        run.usage.llm_calls += 1
        run.usage.input_tokens += tokens_in
        run.usage.output_tokens += tokens_out
        run.usage.cost_usd = round(run.usage.cost_usd + cost, 6)
        choice = response.choices[0] if response.choices else None
        content = (choice.message.content or "") if choice else ""
        if choice is None or choice.finish_reason == "length":
            return content, None, "the JSON was cut off at the output limit; keep every field shorter"
        try:
            return content, model.model_validate_json(_CODE_FENCE.sub("", content.strip())), ""
        except ValidationError as exc:
            return content, None, _short_validation(exc)

    async def _create(
        self, messages: list[dict[str, str]], model: type[BaseModel], name: str, run: _Run, reserved: Reservation
    ) -> Any:
        """The API call. Whatever ends it without an answer (an error, a cancelled build) gives the reservation
        back; only a killed process leaves its worst case in the day's spend (erring on the side of the budget)."""
        assert self.client is not None
        try:
            return await self.client.chat.completions.create(
                model=self.settings.model,
                messages=messages,  # type: ignore[arg-type]
                response_format=self._format(model, name),  # type: ignore[arg-type]
                temperature=0.2,
                max_completion_tokens=self.settings.llm_max_output_tokens,
            )
        except BaseException:
            await run.budget.settle(reserved, 0, 0)
            raise

    def _format(self, model: type[BaseModel], name: str) -> dict[str, Any]:
        if self._json_mode:
            return {"type": "json_object"}
        return {"type": "json_schema", "json_schema": {"name": name, "strict": True, "schema": strict_schema(model)}}

    @staticmethod
    def _with_schema(messages: list[dict[str, str]], model: type[BaseModel]) -> list[dict[str, str]]:
        """JSON mode has no schema parameter, so the schema goes into the system message."""
        schema = json.dumps(strict_schema(model), ensure_ascii=False, separators=(",", ":"))
        head = messages[0]
        if schema in head["content"]:
            return messages
        return [{**head, "content": f"{head['content']}\n\nJSON schema of the answer:\n{schema}"}, *messages[1:]]

    async def _parts(self, items: list[Item], lang: Lang, run: _Run, reuse: Digest | None) -> DigestParts:
        """Top-issue keywords and three actions for today: one small call, or the stored ones on a rebuild.

        The stored ones are reused only if the LLM wrote them from the very input this call would send (same
        model, prompt and briefs): never the automatic ones of an offline build (`digestbot demo`), nor ones
        written from other briefs or with an older prompt."""
        offline = digest_parts(items, lang)
        if not any(i.brief.origin == "llm" for i in items):
            return offline
        stored = reuse.parts_source if reuse is not None else None
        can_call = self.client is not None and not self._disabled
        if not can_call and (stored is None or stored.origin != "llm"):
            return offline
        prompt = load_prompt(self.settings.prompts_dir, "digest_parts", lang)
        briefs = "\n\n".join(
            f"rank {i.rank}: {short_title(i.paper.title)}\n{i.brief.one_liner}\n"
            + "\n".join(f"- {p}" for p in i.brief.key_points)
            + f"\ntags: {', '.join(i.brief.tags)}"
            for i in items
        )
        messages = prompt.messages(briefs=fence(briefs))
        source = PartsSource(
            origin="llm", input_hash=_input_hash(self.settings.model, [i.paper.id for i in items], messages)
        )
        if reuse is not None and stored == source:
            return DigestParts(highlights=reuse.highlights, daily_actions=reuse.daily_actions, source=source)
        if not can_call:
            return offline
        try:
            _, out, error = await self._ask(messages, PartsOut, "digest_parts", run)
        except (OverBudget, LLMFailed) as exc:
            log.warning("digest-level parts: %s; using the automatic ones", str(exc) or "over budget")
            return offline
        if out is None:
            log.warning("digest-level parts were not valid (%s); using the automatic ones", error)
            return offline
        keywords = {k.rank: k.keywords for k in out.papers}
        highlights = [
            Highlight(rank=h.rank, headline=h.headline, keywords=keywords.get(h.rank) or h.keywords)
            for h in offline.highlights
        ]
        return DigestParts(highlights=highlights, daily_actions=out.daily_actions, source=source)


def _input_hash(model: str, paper_ids: list[str], messages: list[dict[str, str]]) -> str:
    text = json.dumps([model, paper_ids, messages], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _schema_refused(exc: openai.BadRequestError) -> bool:
    text = str(exc).lower()
    return "response_format" in text or "json_schema" in text or "schema" in text


def _short(exc: Exception, limit: int = 160) -> str:
    return str(exc).replace("\n", " ")[:limit]


def _short_validation(exc: ValidationError) -> str:
    problems = [f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}" for e in exc.errors()[:5]]
    return "; ".join(problems)
