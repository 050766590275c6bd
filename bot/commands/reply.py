"""The neutral reply every command returns; each chat adapter only formats it for its platform."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from digest.text import valid_unicode

# Every text of a reply is encodable, wherever it came from: no renderer, terminal or chat API meets a lone surrogate.
Text = Annotated[str, AfterValidator(valid_unicode)]


class Link(BaseModel):
    label: Text
    url: Text


class Button(BaseModel):
    """A button under the reply: its label, and the action it stands for (bot.commands.buttons.encode)."""

    label: Text
    action: Text


class Entry(BaseModel):
    """A list item whose text is a link (a paper's title), followed by plain text (its one-liner)."""

    text: Text
    url: Text | None = None
    detail: Text = ""


class Part(BaseModel):
    """One titled part of a reply: a heading, then paragraphs, bullet items and linked entries (any may be empty)."""

    heading: Text | None = None
    paragraphs: list[Text] = Field(default_factory=list)
    items: list[Text] = Field(default_factory=list)
    entries: list[Entry] = Field(default_factory=list)


class Reply(BaseModel):
    """What a command answers. Text here is plain (never markup): each adapter escapes it for its platform."""

    kind: Literal["answer", "error", "help", "unavailable"] = "answer"
    title: Text | None = None
    title_url: Text | None = None
    parts: list[Part] = Field(default_factory=list)
    links: list[Link] = Field(default_factory=list)
    buttons: list[Button] = Field(default_factory=list)
    footer: Text | None = None  # e.g. a hint with a working example, or "전체 보기" permalink text

    @property
    def ok(self) -> bool:
        return self.kind in ("answer", "help")
