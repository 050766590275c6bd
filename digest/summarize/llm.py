"""LLM briefs: one structured-output call per paper, cached, checked for faithfulness, bounded in cost and size.

`BriefSummarizer` serves cache hits first. Misses go to the LLM when a client is given (concurrently, at most
`llm_concurrency` at a time), else to the offline brief. A paper whose call fails, whose answer stays invalid
after one repair, or that does not fit the budget gets the offline brief: one paper never fails the digest.
The digest-level parts (top-issue keywords, three actions) are one more call, written from the same titles and
abstracts and made beside the briefs' calls, so the build takes about as long as its slowest call.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import openai
from openai import AsyncOpenAI
from pydantic import BaseModel, ValidationError

from digest.models import Brief, Digest, Highlight, Item, Lang, Paper, PartsSource, Usage
from digest.settings import Settings
from digest.store import Store
from digest.summarize import BriefResult, DigestParts, Progress, Summary, _no_progress
from digest.summarize.budget import Budget, OverBudget, Reservation
from digest.summarize.cache import BriefCache
from digest.summarize.offline import digest_parts, offline_brief, short_title
from digest.summarize.schema import (
    BriefOut,
    PartsOut,
    Prompt,
    fence,
    load_prompt,
    parse_answer,
    schema_text,
    strict_schema,
    trim_abstract,
)
from digest.verify import check_brief, check_parts, scrub_brief

# Re-exported: the CLI, the bench and the tests reach the prompt and schema helpers through this module.
__all__ = ["BriefOut", "BriefSummarizer", "load_prompt", "make_client", "strict_schema"]

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)

_NOTES: dict[Lang, dict[str, str]] = {
    "ko": {
        "failed": "{count}편은 LLM 요약에 실패해 초록 원문을 대신 실었습니다.",
        "refused": "LLM이 키를 거부해({reason}) 모든 논문에 초록 원문을 실었습니다. OPENAI_API_KEY를 확인하세요.",
    },
    "en": {
        "failed": "The LLM brief failed for {count} papers; they show their abstracts instead.",
        "refused": "The LLM refused the key ({reason}), so every paper shows its abstract. Check OPENAI_API_KEY.",
    },
}


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


class LLMFailed(Exception):
    """The call failed after the SDK's retries, or the answer stayed invalid; the paper gets the offline brief."""


class KeyRefused(LLMFailed):
    """The key was refused: no call of this build can succeed."""


@dataclass
class _Run:
    """What one summarize() spends and learns."""

    budget: Budget
    usage: Usage = field(default_factory=Usage)
    over_budget: int = 0
    failed: int = 0
    refused: str | None = None  # why the key was refused, once it was


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

    async def summarize(
        self, papers: list[Paper], lang: Lang, progress: Progress = _no_progress, *, previous: Digest | None = None
    ) -> Summary:
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
                if run.refused:  # checked once the turn comes: an earlier call may have had the key refused
                    return offline_brief(paper, lang), False
                try:
                    brief = await self._brief(paper, prompt, run)
                except OverBudget:
                    run.over_budget += 1
                    return offline_brief(paper, lang), False
                except KeyRefused:
                    return offline_brief(paper, lang), False
                except LLMFailed as exc:
                    log.warning("paper %s: %s; it shows its abstract instead", paper.id, exc)
                    run.failed += 1
                    return offline_brief(paper, lang), False
            await cache.put(paper, lang, brief)
            return brief, True

        parts_call = self._parts_call(papers, lang, run, semaphore, previous)
        *done, written = await asyncio.gather(*(one(p, hit) for p, hit in zip(papers, cached, strict=True)), parts_call)
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
        parts = digest_parts(items, lang)
        if written is not None:
            parts = _merge_parts(parts, *written)
        notes = []
        if run.refused:
            notes.append(_NOTES[lang]["refused"].format(reason=run.refused))
        if run.over_budget:
            notes.append(await run.budget.note(lang, run.over_budget))
        if run.failed and not run.refused:
            notes.append(_NOTES[lang]["failed"].format(count=run.failed))
        llm_error = f"the LLM refused the key ({run.refused})" if run.refused else None
        return Summary(results=results, parts=parts, usage=run.usage, notes=notes, llm_error=llm_error)

    def _checked(self, paper: Paper, brief: Brief, cached: bool) -> BriefResult:
        """Faithfulness on every model-written brief, cached or new: unsupported figures are listed and lower the
        confidence."""
        if brief.origin != "llm":
            return BriefResult(brief, cached=cached)
        brief, checks = check_brief(brief, paper)
        return BriefResult(brief, checks, cached=cached)

    async def _brief(self, paper: Paper, prompt: Prompt, run: _Run) -> Brief:
        """One paper: a call, one repair for an invalid answer and one for unsupported figures, at most."""
        messages: list[dict[str, str]] = prompt.messages(
            paper_id=paper.id, title=fence(paper.title), abstract=fence(trim_abstract(paper.abstract))
        )
        best: Brief | None = None
        repaired_json = repaired_numbers = False
        while True:
            content, out, error = await self._ask(messages, BriefOut, "paper_brief", run)
            if out is not None:
                best = scrub_brief(Brief(**out.model_dump(), origin="llm"), paper)
                numbers = check_brief(best, paper)[1].unsupported_numbers
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
                raise LLMFailed(f"the answer was still not valid after one repair ({error})")
            else:
                repaired_json = True
                feedback = f"Your answer was not valid: {error}. Answer again with the complete JSON object only."
            # An overlong answer is not sent back whole: the model gets the start of it and the error.
            messages = [
                *messages,
                {"role": "assistant", "content": content[:4000]},
                {"role": "user", "content": feedback},
            ]

    async def _ask(
        self, messages: list[dict[str, str]], model: type[M], name: str, run: _Run
    ) -> tuple[str, M | None, str]:
        """One call: (the raw answer, the validated object or None, the validation error)."""
        assert self.client is not None
        if run.refused:
            raise KeyRefused(run.refused)
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
            run.usage.failed_calls += 1
            raise LLMFailed(f"the LLM refused the request (HTTP 400: {_short(exc)})") from None
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            run.usage.failed_calls += 1
            if not run.refused:  # the first refusal says it once; every other call of the build stops quietly
                run.refused = f"HTTP {exc.status_code}"
                log.error(
                    "the LLM refused the key (HTTP %s); check OPENAI_API_KEY. This build shows abstracts instead of "
                    "briefs.",
                    exc.status_code,
                )
            raise KeyRefused(run.refused) from None
        except openai.APITimeoutError:
            run.usage.failed_calls += 1
            raise LLMFailed(f"the LLM did not answer within {self.settings.llm_timeout_s:g} s") from None
        except openai.APIStatusError as exc:
            run.usage.failed_calls += 1
            raise LLMFailed(f"the LLM answered HTTP {exc.status_code} after retries") from None
        except openai.APIError as exc:  # connection errors and answers the SDK cannot read
            run.usage.failed_calls += 1
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
            return content, parse_answer(model, content), ""  # type: ignore[return-value]
        except ValidationError as exc:
            return content, None, _short_validation(exc)
        except ValueError as exc:
            return content, None, str(exc)

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
        """JSON mode has no schema parameter, so the schema (with its length bounds) goes into the system message."""
        schema = schema_text(model)
        head = messages[0]
        if schema in head["content"]:
            return messages
        return [{**head, "content": f"{head['content']}\n\nJSON schema of the answer:\n{schema}"}, *messages[1:]]

    async def _parts_call(
        self, papers: list[Paper], lang: Lang, run: _Run, semaphore: asyncio.Semaphore, reuse: Digest | None
    ) -> tuple[DigestParts, list[Paper]] | None:
        """Top-issue keywords and three actions for today, written by the LLM from the titles and abstracts; the
        stored ones on a rebuild; None when the automatic ones (from the briefs) stand.

        The stored ones are reused only if the LLM wrote them from the very input this call would send (same
        model, prompt and papers): never the automatic ones of an offline build (`digestbot demo`), nor ones
        written with an older prompt."""
        if not papers:
            return None
        prompt = load_prompt(self.settings.prompts_dir, "digest_parts", lang)
        listing = "\n\n".join(
            f"rank {rank}: {short_title(p.title)}\ntitle: {p.title}\nabstract: {trim_abstract(p.abstract)}"
            for rank, p in enumerate(papers, 1)
        )
        messages = prompt.messages(papers=fence(listing))
        input_hash = _input_hash(self.settings.model, [p.id for p in papers], messages)
        stored = reuse.parts_source if reuse is not None else None
        if reuse is not None and stored is not None and stored.origin == "llm" and stored.input_hash == input_hash:
            kept = DigestParts(highlights=reuse.highlights, daily_actions=reuse.daily_actions, source=stored)
            return kept, papers
        if self.client is None:
            return None
        async with semaphore:
            try:
                _, out, error = await self._ask(messages, PartsOut, "digest_parts", run)
            except KeyRefused:
                return None
            except (OverBudget, LLMFailed) as exc:
                log.warning("digest-level parts: %s; using the automatic ones", str(exc) or "over budget")
                return None
        if out is None:
            log.warning("digest-level parts were not valid (%s); using the automatic ones", error)
            return None
        keywords = {k.rank: k.keywords for k in out.papers}
        highlights = [
            Highlight(rank=rank, headline=short_title(p.title), keywords=keywords.get(rank, []))
            for rank, p in enumerate(papers, 1)
        ]
        written = DigestParts(
            highlights=highlights,
            daily_actions=list(out.daily_actions),
            source=PartsSource(origin="llm", input_hash=input_hash),
        )
        return check_parts(written, papers), papers


def _merge_parts(automatic: DigestParts, written: DigestParts, papers: list[Paper]) -> DigestParts:
    """The LLM's parts, with the automatic keywords wherever the LLM gave a paper none."""
    fallback = {h.rank: h.keywords for h in automatic.highlights}
    highlights = [h.model_copy(update={"keywords": h.keywords or fallback.get(h.rank, [])}) for h in written.highlights]
    return DigestParts(highlights=highlights, daily_actions=written.daily_actions, source=written.source)


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
