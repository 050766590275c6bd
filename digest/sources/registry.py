"""The sources, listed once: a name, its label, and how to make it from the settings.

Adding a source is one module with a class that implements `base.Source` and one line here (plus its fake
under tests/fakes and its tests). `auto` tries AUTO_CHAIN in order: the next one stands in while one is down.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from digest.sources import arxiv, huggingface, sample
from digest.sources.base import Source

if TYPE_CHECKING:
    from digest.settings import Settings


@dataclass(frozen=True)
class Entry:
    label: str  # how reports name it
    make: Callable[[Settings, httpx.AsyncClient], Source]
    offline: bool = False  # needs no network: a build from it asks no other source (for votes) either


REGISTRY: dict[str, Entry] = {
    huggingface.NAME: Entry("Hugging Face Daily Papers", huggingface.HuggingFace.from_settings),
    arxiv.NAME: Entry("arXiv(cs.AI/cs.LG)", arxiv.Arxiv.from_settings),
    sample.NAME: Entry("bundled sample days", sample.Sample.from_settings, offline=True),
}
AUTO_CHAIN: tuple[str, ...] = (huggingface.NAME, arxiv.NAME)
# The source whose votes rank the papers of a source that has none (a base.VoteLookup).
VOTES = huggingface.NAME
CHOICES: tuple[str, ...] = ("auto", *REGISTRY)


class UnknownSource(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"{name!r} is not a source; use one of {', '.join(CHOICES)}")


def check_name(name: str) -> str:
    """`name` when it is `auto` or a registered source; UnknownSource otherwise."""
    if name not in CHOICES:
        raise UnknownSource(name)
    return name


def make_source(name: str, settings: Settings, client: httpx.AsyncClient) -> Source:
    entry = REGISTRY.get(name)
    if entry is None:
        raise UnknownSource(name)
    return entry.make(settings, client)


def chain(choice: str) -> tuple[str, ...]:
    """The sources a build tries, in order, for a `--source` / DIGEST_SOURCE choice."""
    return AUTO_CHAIN if check_name(choice) == "auto" else (choice,)


def offline(choice: str) -> bool:
    entry = REGISTRY.get(choice)
    return entry is not None and entry.offline


def source_label(name: str) -> str:
    entry = REGISTRY.get(name)
    return entry.label if entry else name
