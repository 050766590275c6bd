"""Stored bodies and their schema versions: what both backends write, and how an older body is read.

Every stored digest, brief, subscription and ledger row carries `schema_version`. A body written by an older
version (no `schema_version` at all: version 1) goes through its kind's upgrade steps before it is validated,
so an upgrade of the bot never breaks a stored day or re-posts to a chat the ledger says was served. A new
field needs a default (then no step at all); a renamed or reshaped field needs one step here, from the version
before to the new one, and a bump of that kind's version.
"""

from __future__ import annotations

import json
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


# Per kind: its current version and the steps from each older version to the next (step n: n -> n + 1).
UPGRADES: dict[type[BaseModel], tuple[int, dict[int, Step]]] = {
    Digest: (2, {1: _stamp}),
    Brief: (2, {1: _stamp}),
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
