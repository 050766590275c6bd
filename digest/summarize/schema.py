"""What goes into an LLM call and what may come out: the prompt files, the answer schemas and their bounds.

In: the abstract is cut at a sentence boundary to MAX_ABSTRACT_CHARS (arXiv abstracts stop at 1,920), so a
pathological 1 MB abstract costs no more than a normal one. Out: every field has a maximum length. Strict
structured output does not take `maxLength`, so there the bound is said in the field's description, the call's
`max_completion_tokens` caps the answer, and the parsed answer is validated against the lengths: a longer one is
invalid JSON to us (one repair, then the offline brief), whatever the server did with the output limit.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from digest.models import Lang, Level
from digest.settings import ConfigError
from digest.text import sentences, truncate

MAX_ABSTRACT_CHARS = 3000
# An answer longer than this is not parsed at all (the schema's fields add up to about 9,000 characters).
MAX_ANSWER_CHARS = 32_000

_USER_MARK = "=== user ==="
_FENCE_TAG = re.compile(r"</?\s*(abstract|briefs|papers)\s*>", re.IGNORECASE)
_CODE_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")


def _text(limit: int) -> Any:
    return Annotated[
        str, StringConstraints(min_length=1, max_length=limit), Field(description=f"at most {limit} characters")
    ]


Sentence = _text(600)
Tag = _text(40)


# What the model writes. Titles, ids and links are not in it: they come from the paper's metadata.
class BriefOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    one_liner: Sentence
    key_points: list[Sentence] = Field(min_length=3, max_length=3)
    developer_view: _text(800)  # type: ignore[valid-type]
    actions: list[Sentence] = Field(min_length=3, max_length=3)
    risks: list[Sentence] = Field(min_length=2, max_length=3)
    uncertainty: _text(600)  # type: ignore[valid-type]
    abstract_ko: _text(2400)  # type: ignore[valid-type]
    tags: list[Tag] = Field(min_length=3, max_length=6)
    difficulty: Level
    confidence: Level


class PaperKeywords(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rank: int
    keywords: list[Tag] = Field(min_length=1, max_length=3)


class PartsOut(BaseModel):
    """The digest-level parts, written from the papers' titles and abstracts (not from the briefs, so the call
    runs beside the briefs' calls instead of after them)."""

    model_config = ConfigDict(extra="forbid")

    papers: list[PaperKeywords] = Field(max_length=20)
    daily_actions: list[Sentence] = Field(min_length=3, max_length=3)


# Keywords strict structured output refuses; their bound moves into the description (minItems/maxItems stay).
_NOT_IN_STRICT = ("title", "minLength", "maxLength", "default")


def strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema in the subset strict structured output accepts: every property required, no
    additional properties, no string length keywords (their bound is in the description, and pydantic enforces
    it when the answer is validated)."""

    def fix(node: Any) -> Any:
        if isinstance(node, dict):
            node = {k: fix(v) for k, v in node.items() if k not in _NOT_IN_STRICT}
            if node.get("type") == "object" and "properties" in node:
                node["additionalProperties"] = False
                node["required"] = list(node["properties"])
            return node
        if isinstance(node, list):
            return [fix(v) for v in node]
        return node

    return fix(model.model_json_schema())


def full_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The schema with its length keywords, for the prompt of a JSON-mode server (it has no schema parameter)."""
    schema = strict_schema(model)

    def restore(strict: Any, full: Any) -> Any:
        if isinstance(strict, dict) and isinstance(full, dict):
            out = {k: restore(v, full.get(k)) for k, v in strict.items()}
            out.update({k: full[k] for k in ("minLength", "maxLength") if k in full})
            return out
        if isinstance(strict, list) and isinstance(full, list):
            return [restore(s, f) for s, f in zip(strict, full, strict=False)]
        return strict

    return restore(schema, model.model_json_schema())


def schema_text(model: type[BaseModel]) -> str:
    return json.dumps(full_schema(model), ensure_ascii=False, separators=(",", ":"))


def parse_answer(model: type[BaseModel], content: str) -> BaseModel:
    """The answer validated against `model`; ValueError (pydantic's ValidationError is one) when it is not."""
    if len(content) > MAX_ANSWER_CHARS:
        raise ValueError(f"the answer has {len(content):,} characters; the whole JSON must stay short")
    return model.model_validate_json(_CODE_FENCE.sub("", content.strip()))


def trim_abstract(abstract: str, limit: int = MAX_ABSTRACT_CHARS) -> str:
    """The abstract cut after the last whole sentence that fits in `limit` characters (a grapheme-safe cut when
    not even the first sentence fits)."""
    if len(abstract) <= limit:
        return abstract
    kept: list[str] = []
    used = 0
    for sentence in sentences(abstract):
        if used + len(sentence) + 1 > limit:
            break
        kept.append(sentence)
        used += len(sentence) + 1
    return " ".join(kept) if kept else truncate(abstract, limit)


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
