"""The data that flows through the pipeline and is stored: Paper -> Brief -> Item -> Digest."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from digest.text import clean, one_line

Level = Literal["상", "중", "하"]  # stored as written; digest.sections.level_label localizes it
Lang = Literal["ko", "en"]
LANGS: tuple[Lang, ...] = get_args(Lang)  # every language a digest is written in, in the product's order
Origin = Literal["llm", "fallback"]
# Who wrote one section of a brief: the model in this deployment, the reference digest the golden briefs were
# copied from (also model-written, then), or nobody: text extracted as it is from the abstract or the metadata.
SectionOrigin = Literal["llm", "reference", "extracted"]
# What orders a digest's papers: their Hugging Face upvotes; for a source without votes (arXiv) the Hugging Face
# upvotes of the same ids where Hugging Face knows them; or, when nothing has votes, the newest arXiv id first.
Ranking = Literal["upvotes", "hf_upvotes", "newest"]

HF_PAPER_URL = "https://huggingface.co/papers/{id}"
ARXIV_ABS_URL = "https://arxiv.org/abs/{id}"
ARXIV_PDF_URL = "https://arxiv.org/pdf/{id}"


class Paper(BaseModel):
    """One paper as the sources describe it. Links come only from here, never from the LLM."""

    model_config = ConfigDict(extra="ignore")

    id: str  # arXiv id without version, e.g. "2602.12205"
    version: int | None = None
    title: str
    abstract: str = ""
    authors: list[str] = Field(default_factory=list)
    url: str  # the page a reader opens first (Hugging Face paper page, or arXiv abs)
    pdf_url: str | None = None
    arxiv_url: str | None = None
    thumbnail: str | None = None
    github: str | None = None
    project_page: str | None = None
    upvotes: int | None = None  # None: no source has a vote count for this paper (never shown as 0)
    comments: int = 0
    published_at: datetime | None = None
    organization: str | None = None
    ai_summary: str | None = None
    ai_keywords: list[str] = Field(default_factory=list)
    source: str = "huggingface"

    @field_validator("title", "organization", "ai_summary", mode="before")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        return one_line(value) if value is not None else None

    @field_validator("abstract", mode="before")
    @classmethod
    def _clean(cls, value: str | None) -> str:
        return clean(value)

    @field_validator("authors", "ai_keywords", mode="before")
    @classmethod
    def _clean_list(cls, value: list[str] | None) -> list[str]:
        return [one_line(v) for v in (value or []) if one_line(v)]

    def links(self) -> list[tuple[str, str]]:
        """(label, url) reference links, all from this paper's own metadata."""
        out = [("arXiv", self.arxiv_url), ("PDF", self.pdf_url), ("GitHub", self.github)]
        out.append(("Project page", self.project_page))
        if self.url not in {u for _, u in out}:
            out.insert(0, ("Hugging Face", self.url))
        return [(label, link) for label, link in out if link]


TEXT_SECTIONS = ("one_liner", "developer_view", "uncertainty", "abstract_ko")
LIST_SECTIONS = ("key_points", "actions", "risks", "tags")


class Brief(BaseModel):
    """The sections a reader sees for one paper (their headings and aliases: digest/sections.py).

    A section with nothing real to say is empty ("" or []) and left out by every renderer; difficulty and
    confidence are None unless something assessed them. `origin` is the brief's overall origin ("llm" when a
    model wrote it, here or in the reference digest); `provenance` says who wrote each non-empty section."""

    one_liner: str = ""
    key_points: list[str] = Field(default_factory=list)
    developer_view: str = ""
    actions: list[str] = Field(default_factory=list)
    risks: list[str] = Field(default_factory=list)
    uncertainty: str = ""
    abstract_ko: str = ""
    tags: list[str] = Field(default_factory=list)
    difficulty: Level | None = None
    confidence: Level | None = None
    origin: Origin = "llm"
    provenance: dict[str, SectionOrigin] = Field(default_factory=dict)

    @field_validator("one_liner", "developer_view", "uncertainty", "abstract_ko", mode="before")
    @classmethod
    def _clean(cls, value: str | None) -> str:
        return clean(value)

    @field_validator("key_points", "actions", "risks", "tags", mode="before")
    @classmethod
    def _clean_list(cls, value: list[str] | None) -> list[str]:
        return [one_line(v) for v in (value or []) if one_line(v)]

    @model_validator(mode="after")
    def _provenance_of_present_sections(self) -> Brief:
        """Every non-empty section has a writer (the brief's origin unless said otherwise); empty ones none."""
        default: SectionOrigin = "llm" if self.origin == "llm" else "extracted"
        self.provenance = {
            name: self.provenance.get(name, default) for name in (*TEXT_SECTIONS, *LIST_SECTIONS) if getattr(self, name)
        }
        return self

    def written_by(self, section: str) -> SectionOrigin | None:
        """Who wrote the section (a Brief field name); None when it is empty."""
        return self.provenance.get(section)

    def model_written(self) -> list[str]:
        """Every piece of text a model wrote (here or in the reference): what the figure and link checks read."""
        out: list[str] = []
        for name, origin in self.provenance.items():
            if origin != "extracted":
                value = getattr(self, name)
                out += value if isinstance(value, list) else [value]
        return out


class Figure(BaseModel):
    """A figure of the paper's full text: its image on arXiv (absolute http(s) URL) and caption.

    A figure drawn in SVG on the page has no image_url; an Item's figures always have one (digest.figures)."""

    number: str | None = None  # "1", "A.2": as the paper numbers it
    caption: str = ""
    image_url: str | None = None
    anchor: str | None = None  # the id of the figure on the HTML page, for a link to it

    @field_validator("caption", mode="before")
    @classmethod
    def _one_line(cls, value: str | None) -> str:
        return one_line(value)


class Checks(BaseModel):
    """What the faithfulness check found in model-written text: figures the abstracts do not contain."""

    unsupported_numbers: list[str] = Field(default_factory=list)


class Item(BaseModel):
    rank: int
    paper: Paper
    brief: Brief
    checks: Checks = Field(default_factory=Checks)
    # The first figures of the paper's full text (digest.figures), and the arXiv version they came from.
    figures: list[Figure] = Field(default_factory=list)
    fulltext_version: int | None = None


class Highlight(BaseModel):
    """One line of "오늘의 Top 이슈": a short headline and a few keywords for a ranked paper."""

    rank: int
    headline: str
    keywords: list[str] = Field(default_factory=list)


class PartsSource(BaseModel):
    """Who wrote the top issues and today's actions, and from what: a rebuild reuses them only when the LLM wrote
    them from the same input it would send now (model, digest-level prompt and briefs, hashed)."""

    origin: Origin = "fallback"
    input_hash: str | None = None
    checks: Checks = Field(default_factory=Checks)  # of the model-written top-issue keywords and actions


class SourceReport(BaseModel):
    name: str
    fetched: int = 0
    selected: int = 0
    day: date | None = None  # the day the papers came from, when it differs from the digest's date
    error: str | None = None
    ranking: Ranking | None = None  # what ordered the selected papers (None: a report stored before it was said)


class Usage(BaseModel):
    llm_calls: int = 0  # calls answered (and paid for)
    failed_calls: int = 0  # calls that got no usable answer: refused, failed after retries, timed out
    cached_briefs: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


class TopicFilter(BaseModel):
    """Set on the copy of a digest made for a chat with topics (digest.topics.for_topics); never stored."""

    topics: list[str]
    total: int  # papers in the full digest


class Digest(BaseModel):
    date: date
    lang: Lang = "ko"
    generated_at: datetime
    sources: list[SourceReport] = Field(default_factory=list)
    items: list[Item] = Field(default_factory=list)
    highlights: list[Highlight] = Field(default_factory=list)
    daily_actions: list[str] = Field(default_factory=list)
    parts_source: PartsSource = Field(default_factory=PartsSource)  # of highlights and daily_actions
    usage: Usage = Field(default_factory=Usage)
    # Why the digest is not a plain top-k of its own day: empty day, fallback day, source down, budget.
    notes: list[str] = Field(default_factory=list)
    papers_day: date | None = None  # the day whose papers are shown, when a fallback was used
    # Why the LLM could not be used at all in this build (a refused key): recorded for health checks.
    llm_error: str | None = None
    # Only on a chat's topic-filtered copy, for the renderers; excluded from JSON, so never stored or archived.
    topic_filter: TopicFilter | None = Field(default=None, exclude=True)

    def item(self, rank: int) -> Item | None:
        return next((i for i in self.items if i.rank == rank), None)

    def find(self, paper_id: str) -> Item | None:
        return next((i for i in self.items if i.paper.id == paper_id), None)
