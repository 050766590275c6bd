"""The brief cache: one entry per (paper id, abstract hash, model, prompt version, language).

Rebuilding a day, or another chat asking for the same paper, costs no tokens; a later arXiv version with a
changed abstract hashes differently and gets a new brief. The golden briefs of the reference days are
entries of this cache for the default model and prompt v1, seeded on the first lookup that misses.
"""

from __future__ import annotations

import asyncio
import logging

from digest.models import Brief, Lang, Paper
from digest.settings import Settings
from digest.store import Store, StoreUnavailable
from digest.summarize.golden import abstract_hash, golden_brief

log = logging.getLogger(__name__)

GOLDEN_MODEL = str(Settings.model_fields["model"].default)
GOLDEN_PROMPT_VERSION = "v1"


class BriefCache:
    def __init__(self, store: Store, model: str, prompt_version: str) -> None:
        self.store = store
        self.model = model
        self.prompt_version = prompt_version
        # Briefs finish concurrently; the embedded store's single connection cannot nest write transactions.
        self._writing = asyncio.Lock()

    def key(self, paper: Paper, lang: Lang) -> str:
        return f"brief:{paper.id}:{abstract_hash(paper.abstract)}:{self.model}:{self.prompt_version}:{lang}"

    def _golden(self, paper: Paper, lang: Lang) -> Brief | None:
        if (lang, self.model, self.prompt_version) != ("ko", GOLDEN_MODEL, GOLDEN_PROMPT_VERSION):
            return None
        return golden_brief(paper)

    async def get(self, paper: Paper, lang: Lang) -> Brief | None:
        key = self.key(paper, lang)
        try:
            brief = await self.store.get_brief(key)
        except StoreUnavailable as exc:
            log.warning("brief cache unavailable, %s is not looked up: %s", paper.id, exc)
            return self._golden(paper, lang)
        if brief is None and (brief := self._golden(paper, lang)) is not None:
            await self.put(paper, lang, brief)
        return brief

    async def put(self, paper: Paper, lang: Lang, brief: Brief) -> None:
        try:
            async with self._writing:
                await self.store.put_brief(self.key(paper, lang), brief)
        except StoreUnavailable as exc:
            log.warning("brief of %s not cached (the next build will pay for it again): %s", paper.id, exc)
