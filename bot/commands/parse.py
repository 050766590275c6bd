"""Text -> Command: "/paper 3 risks", "/paper 2602.12205 링크", "/digest yesterday", "/help", "/sections",
"/start", and the subscription verbs ("/subscribe 08:30 en", "/settings", "/unsubscribe"), whose words
bot.commands.subscribe reads.

Never raises anything but ParseError, whose `problem` says what was wrong and `example` shows a working command.
Words may come in any order ("/paper risks 3"); Telegram's "/paper@BotName" and a leading Slack mention are accepted.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from digest.sections import SECTION_BY_KEY, SECTIONS, Section

MAX_LENGTH = 300  # a real command is a few words; anything longer is a paste, not a question

DayWord = Literal["latest", "today", "yesterday"]
Day = date | DayWord


@dataclass(frozen=True)
class PaperCommand:
    rank: int | None  # exactly one of rank and paper_id is set
    paper_id: str | None
    section: Section
    day: Day | None  # None: the latest digest


@dataclass(frozen=True)
class DigestCommand:
    day: Day


@dataclass(frozen=True)
class HelpCommand:
    pass


@dataclass(frozen=True)
class SectionsCommand:
    pass


@dataclass(frozen=True)
class StartCommand:
    pass


SubscriptionVerb = Literal["subscribe", "unsubscribe", "settings"]


@dataclass(frozen=True)
class SubscriptionCommand:
    verb: SubscriptionVerb
    args: str  # the words after the command, as typed (case kept: timezones are case-sensitive)


Command = PaperCommand | DigestCommand | HelpCommand | SectionsCommand | StartCommand | SubscriptionCommand

ErrorCode = Literal[
    "empty",
    "too_long",
    "control",
    "unknown_command",
    "missing_target",
    "two_targets",
    "bad_number",
    "unknown_section",
    "bad_date",
    "extra_words",
]


class ParseError(Exception):
    """What was wrong with the text; `detail` carries the offending word (plain text, already shortened)."""

    def __init__(self, code: ErrorCode, detail: str = "", command: str = "paper") -> None:
        super().__init__(code, detail)
        self.code = code
        self.detail = detail
        self.command = command  # which usage example fits: "paper", "digest" or "any"


_COMMANDS = {
    "paper": ("paper", "p", "논문"),
    "digest": ("digest", "d", "다이제스트", "today", "오늘"),
    "help": ("help", "도움말", "도움", "h", "?"),
    "start": ("start", "시작"),
    "sections": ("sections", "section", "섹션"),
    "subscribe": ("subscribe", "digest-subscribe", "구독"),
    "unsubscribe": ("unsubscribe", "구독해지"),
    "settings": ("settings", "설정"),
}
_COMMAND_BY_WORD = {word: name for name, words in _COMMANDS.items() for word in words}

# Control characters, and lone surrogates (undecodable bytes a terminal or a client let through): no renderer
# can encode them, so they are refused here rather than crash an adapter.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_MENTION = re.compile(r"^(<@[^>\s]{1,40}>\s*)+")  # Slack: "<@U0123> paper 3"
_RANK = re.compile(r"#?(\d{1,6})(번|위|st|nd|rd|th)?")
# arXiv ids: new style 2602.12205(v2), also inside an abs/pdf/Hugging Face URL.
_ARXIV = re.compile(
    r"(?:https?://)?(?:www\.)?(?:(?:export\.)?arxiv\.org/(?:abs|pdf)/|huggingface\.co/papers/|arxiv:)?"
    r"(\d{4}\.\d{4,5})(?:v\d+)?(?:\.pdf)?/?"
)
_DATE = re.compile(r"(\d{4})[-./](\d{1,2})[-./](\d{1,2})")
_DAY_WORDS: dict[str, DayWord] = {
    "latest": "latest",
    "최신": "latest",
    "최근": "latest",
    "today": "today",
    "오늘": "today",
    "yesterday": "yesterday",
    "어제": "yesterday",
}


def _section_names() -> dict[str, Section]:
    """Every name a section answers to: key, aliases, and both headings without spaces, lower-cased."""
    names: dict[str, Section] = {}
    for section in SECTIONS:
        for name in (section.key, *section.aliases, section.heading_ko, section.heading_en):
            names.setdefault(re.sub(r"[\s/'’]+", "", name.lower()), section)
    return names


SECTION_NAMES = _section_names()


def match_section(word: str) -> Section | None:
    """A section by name, or by a near-miss of one ("risk", "riks", "리스크")."""
    key = re.sub(r"[\s/'’]+", "", word.lower())
    if not key:
        return None
    if key in SECTION_NAMES:
        return SECTION_NAMES[key]
    if len(key) > 2 and key.endswith("s") and key[:-1] in SECTION_NAMES:
        return SECTION_NAMES[key[:-1]]
    close = difflib.get_close_matches(key, SECTION_NAMES, n=1, cutoff=0.75)
    return SECTION_NAMES[close[0]] if close else None


def _short(word: str, limit: int = 24) -> str:
    return word if len(word) <= limit else word[: limit - 1] + "…"


def _parse_day(word: str) -> Day | None:
    """A day word or a date; None when the word is not meant as a day; ParseError when it is a broken date."""
    if word in _DAY_WORDS:
        return _DAY_WORDS[word]
    m = _DATE.fullmatch(word)
    if not m:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise ParseError("bad_date", _short(word)) from None


def _command_word(token: str) -> tuple[str | None, bool]:
    """("paper"|..., slashed) for the first word; "/paper@MyBot" counts as "/paper"."""
    slashed = token.startswith("/")
    word = token.lstrip("/").split("@", 1)[0]
    return _COMMAND_BY_WORD.get(word), slashed


def parse(text: str) -> Command:
    if len(text) > MAX_LENGTH:
        raise ParseError("too_long", str(len(text)), "any")
    if _CONTROL.search(text):
        raise ParseError("control", "", "any")
    typed = _MENTION.sub("", text.strip()).strip()
    text = typed.lower()
    if not text:
        raise ParseError("empty", "", "any")
    tokens = text.split()
    name, slashed = _command_word(tokens[0])
    if name in ("subscribe", "unsubscribe", "settings"):
        return SubscriptionCommand(name, typed.split(None, 1)[1] if len(tokens) > 1 else "")  # type: ignore[arg-type]
    if name is None:
        if slashed or not (_RANK.fullmatch(tokens[0]) or _ARXIV.fullmatch(tokens[0])):
            raise ParseError("unknown_command", _short(tokens[0]), "any")
        name, args = "paper", tokens  # "3 risks" typed in a direct message
    else:
        args = tokens[1:]
    if name == "help":
        return HelpCommand()
    if name == "start":
        return StartCommand()
    if name == "sections":
        return SectionsCommand()
    if name == "digest":
        return _parse_digest(args, tokens[0])
    return _parse_paper(args)


def _parse_digest(args: list[str], word: str) -> DigestCommand:
    default: Day = "today" if word.lstrip("/") in ("today", "오늘") else "latest"
    if not args:
        return DigestCommand(default)
    if len(args) > 1:
        raise ParseError("extra_words", _short(" ".join(args[1:])), "digest")
    day = _parse_day(args[0])
    if day is None:
        raise ParseError("bad_date", _short(args[0]), "digest")
    return DigestCommand(day)


def _parse_paper(args: list[str]) -> PaperCommand:
    rank: int | None = None
    paper_id: str | None = None
    day: Day | None = None
    rest: list[str] = []
    for word in args:
        if (m := _ARXIV.fullmatch(word)) is not None:
            if rank is not None or paper_id is not None:
                raise ParseError("two_targets", _short(word))
            paper_id = m[1]
        elif (m := _RANK.fullmatch(word)) is not None:
            if rank is not None or paper_id is not None:
                raise ParseError("two_targets", _short(word))
            rank = int(m[1])
        elif day is None and (parsed := _parse_day(word)) is not None:
            day = parsed
        elif re.fullmatch(r"[+-]?\d[\d.,]*", word):
            raise ParseError("bad_number", _short(word))
        else:
            rest.append(word)
    if rank is None and paper_id is None:
        raise ParseError("missing_target", "")
    section = SECTION_BY_KEY["all"]
    if rest:
        found = match_section(" ".join(rest)) or match_section("".join(rest))
        if found is None:
            raise ParseError("unknown_section", _short(" ".join(rest)))
        section = found
    return PaperCommand(rank, paper_id, section, day)
