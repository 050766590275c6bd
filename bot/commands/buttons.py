"""What a section button carries, for every platform: the paper's id, its digest's day and language, the section.

Never the rank: a rebuild may reorder the papers of a day, and a button must keep opening the paper it was
posted under. `encode` gives the one form every adapter puts on a button (Telegram allows 64 bytes of callback
data); `decode` also reads the forms older posts carry, so buttons already in chats keep working.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from digest.models import LANGS, Lang
from digest.sections import SECTION_BY_KEY

MAX_BYTES = 64  # Telegram's limit on callback_data; Slack allows far more
PREFIX = "p"


@dataclass(frozen=True)
class SectionButton:
    """One section of one paper of one digest. `rank` only on a button of the old Telegram form (decoded, never
    encoded): the paper that had that rank in the stored digest."""

    day: date
    lang: Lang
    section: str
    paper_id: str | None = None
    rank: int | None = None

    def command(self) -> str:
        """The command the button stands for, as a user would type it."""
        target = self.paper_id if self.paper_id is not None else str(self.rank)
        return f"/paper {target} {self.section} {self.day.isoformat()}"


def encode(day: date, lang: Lang, paper_id: str, section: str) -> str | None:
    """ "p|2026-02-13|ko|2602.12205|risks"; None when it would not fit a button (an unusually long id)."""
    if section not in SECTION_BY_KEY or "|" in paper_id:
        raise ValueError(f"cannot make a button for section {section!r} of paper {paper_id!r}")
    data = f"{PREFIX}|{day.isoformat()}|{lang}|{paper_id}|{section}"
    return data if len(data.encode()) <= MAX_BYTES else None


def decode(data: str | None) -> SectionButton | None:
    """The button's meaning, or None when the data is not one of ours (or is damaged)."""
    parts = (data or "").split("|")
    try:
        if len(parts) == 5 and parts[0] == PREFIX:  # p|day|lang|paper id|section
            day, lang, paper_id, section = date.fromisoformat(parts[1]), parts[2], parts[3], parts[4]
            rank = None
        elif len(parts) == 5 and parts[0] == "s":  # older Telegram posts: s|day|lang|rank|section
            day, lang, paper_id, section = date.fromisoformat(parts[1]), parts[2], None, parts[4]
            rank = int(parts[3])
        elif len(parts) == 4:  # older Slack posts: day|lang|paper id|section
            day, lang, paper_id, section = date.fromisoformat(parts[0]), parts[1], parts[2], parts[3]
            rank = None
        else:
            return None
    except ValueError:
        return None
    if lang not in LANGS or section not in SECTION_BY_KEY or (paper_id is not None and not paper_id.strip()):
        return None
    return SectionButton(day=day, lang=lang, section=section, paper_id=paper_id, rank=rank)  # type: ignore[arg-type]
