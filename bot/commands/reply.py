"""The neutral reply every command returns; each chat adapter only formats it for its platform."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Link(BaseModel):
    label: str
    url: str


class Button(BaseModel):
    """A button under the reply: its label, and the action it stands for (bot.commands.buttons.encode)."""

    label: str
    action: str


class Entry(BaseModel):
    """A list item whose text is a link (a paper's title), followed by plain text (its one-liner)."""

    text: str
    url: str | None = None
    detail: str = ""


class Part(BaseModel):
    """One titled part of a reply: a heading, then paragraphs, bullet items and linked entries (any may be empty)."""

    heading: str | None = None
    paragraphs: list[str] = Field(default_factory=list)
    items: list[str] = Field(default_factory=list)
    entries: list[Entry] = Field(default_factory=list)


class Reply(BaseModel):
    """What a command answers. Text here is plain (never markup): each adapter escapes it for its platform."""

    kind: Literal["answer", "error", "help", "unavailable"] = "answer"
    title: str | None = None
    title_url: str | None = None
    parts: list[Part] = Field(default_factory=list)
    links: list[Link] = Field(default_factory=list)
    buttons: list[Button] = Field(default_factory=list)
    footer: str | None = None  # e.g. a hint with a working example, or "전체 보기" permalink text

    @property
    def ok(self) -> bool:
        return self.kind in ("answer", "help")
