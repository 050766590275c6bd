"""Stored bodies and their schema versions: what both backends write, and how an older body is read.

Every stored digest, brief, subscription and ledger row carries `schema_version`. A body written by an older
version (no `schema_version` at all: version 1) goes through its kind's upgrade steps before it is validated,
so an upgrade of the bot never breaks a stored day or re-posts to a chat the ledger says was served. A new
field needs a default (then no step at all); a renamed or reshaped field needs one step here, from the version
before to the new one, and a bump of that kind's version.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

from digest.models import Brief, Digest
from digest.store.base import Delivery, Subscription

M = TypeVar("M", bound=BaseModel)
Body = dict[str, Any]
Step = Callable[[Body], Body]

VERSION_KEY = "schema_version"


def _stamp(body: Body) -> Body:
    """Version 1 -> 2 wrote the same fields; from 2 on each body says which version wrote it."""
    return body


# The generic lines earlier versions wrote, as they were written (prefixes where a keyword list followed).
_FILLER_PREFIXES = (
    "LLM 요약이 없어 개발자 관점 분석은 생략했습니다",
    "No LLM brief, so no developer's view",
    "초록과 PDF에서 실험 설정과 보고된 수치를 확인하기",
    "공개된 코드(",
    "프로젝트 페이지(",
    "키워드(",
    "같은 문제를 다루는 기존 방법과 결과를 비교해 보기",
    "Check the experimental setup and reported figures in the abstract and PDF",
    "Clone the released code (",
    "Look through the demos on the project page (",
    "Compare with earlier work on the same keywords (",
    "Compare with earlier methods for the same problem",
    "LLM 없이 자동 추출한 요약이라 한계와 리스크는 원문에서 직접 확인해야 합니다.",
    "보고된 수치는 저자의 주장이며 독립적으로 재현되지 않았습니다.",
    "Extracted without an LLM: read the paper itself for its limitations and risks.",
    "The reported figures are the authors' claims and have not been reproduced independently.",
    "LLM 없이 초록 문장을 그대로 옮긴 자동 요약입니다.",
    "An automatic extract of the abstract's sentences, without interpretation or assessment.",
)
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_TEXT = ("one_liner", "developer_view", "uncertainty", "abstract_ko")
_LISTS = ("key_points", "actions", "risks", "tags")


def _filler(text: Any) -> bool:
    return isinstance(text, str) and text.strip().startswith(_FILLER_PREFIXES)


def _brief_provenance(data: Body) -> Body:
    """Brief 2 -> 3: sections got their writer (`provenance`) and may be empty; levels may be None.

    Earlier offline briefs, and golden briefs whose reference lacked a section, filled sections with generic
    lines that repeat on every paper ("no LLM brief, so no developer's view", the same two risks, 중/하 levels).
    They were never analysis: the step drops them and says who wrote what is left."""
    data = dict(data)
    had_filler = False
    for name in _TEXT:
        if _filler(data.get(name)):
            data[name], had_filler = "", True
    for name in ("actions", "risks"):
        kept = [entry for entry in data.get(name) or [] if not _filler(entry)]
        had_filler = had_filler or len(kept) != len(data.get(name) or [])
        data[name] = kept
    origin = data.get("origin", "llm")
    if origin == "fallback":
        abstract = data.get("abstract_ko") or ""
        # The abstract's own sentences repeated as key points: shown once, in the abstract.
        if all(point in abstract for point in data.get("key_points") or []):
            data["key_points"] = []
        data.update(difficulty=None, confidence=None)
        data["provenance"] = {name: "extracted" for name in (*_TEXT, *_LISTS) if data.get(name)}
    elif had_filler:
        # A golden brief merged with the filler: its own sections came from the reference digest; the ones the
        # reference lacked were extracted (keywords as tags, the English abstract) or invented levels.
        korean = bool(_HANGUL.search(data.get("one_liner") or ""))
        provenance = {}
        for name in (*_TEXT, *_LISTS):
            value = data.get(name)
            if not value:
                continue
            text = " ".join(value) if isinstance(value, list) else value
            extracted = name == "tags" or (korean and not _HANGUL.search(text))
            provenance[name] = "extracted" if extracted else "reference"
        data["provenance"] = provenance
        data.update(difficulty=None, confidence=None)
    return data


def _digest_provenance(data: Body) -> Body:
    """Digest 2 -> 3: its briefs as Brief 3, and no vote count for arXiv papers (earlier ones had 0, never real:
    arXiv counts no votes)."""
    items = []
    for item in data.get("items") or []:
        item = dict(item)
        if isinstance(item.get("brief"), dict):
            item["brief"] = _brief_provenance(item["brief"])
        paper = item.get("paper")
        if isinstance(paper, dict) and paper.get("source") == "arxiv" and paper.get("upvotes") == 0:
            item["paper"] = {**paper, "upvotes": None}
        items.append(item)
    return {**data, "items": items}


# Per kind: its current version and the steps from each older version to the next (step n: n -> n + 1).
UPGRADES: dict[type[BaseModel], tuple[int, dict[int, Step]]] = {
    Digest: (3, {1: _stamp, 2: _digest_provenance}),
    Brief: (3, {1: _stamp, 2: _brief_provenance}),
    Subscription: (2, {1: _stamp}),
    Delivery: (2, {1: _stamp}),
}


def version_of(kind: type[BaseModel]) -> int:
    return UPGRADES[kind][0]


def upgrade(kind: type[BaseModel], body: Mapping[str, Any]) -> Body:
    """`body` as the current version of `kind` expects it (without the version key)."""
    current, steps = UPGRADES[kind]
    out = dict(body)
    version = int(out.pop(VERSION_KEY, 1) or 1)
    if version > current:
        raise ValueError(f"a {kind.__name__} of schema {version} is newer than this version of the bot ({current})")
    while version < current:
        out = steps[version](out)
        version += 1
    return out


def load(kind: type[M], raw: str | bytes | Mapping[str, Any]) -> M:
    """A stored body (JSON text, or the fields of a Redis hash) as the current model."""
    body = json.loads(raw) if isinstance(raw, str | bytes) else raw
    return kind.model_validate(upgrade(kind, body))


def dump(model: BaseModel) -> str:
    """The JSON a backend stores: the model's fields and the schema version they were written with."""
    body = model.model_dump(mode="json")
    body[VERSION_KEY] = version_of(type(model))
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def dump_fields(model: BaseModel) -> dict[str, str]:
    """The fields as strings (a Redis hash), None left out, with the schema version."""
    fields = {k: str(v) for k, v in model.model_dump(mode="json").items() if v is not None}
    fields[VERSION_KEY] = str(version_of(type(model)))
    return fields
