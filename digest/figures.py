"""Which figures of a paper a digest shows, and how they are labelled: one decision for every renderer."""

from __future__ import annotations

from digest.models import Figure, Lang
from digest.text import truncate

SHOWN = 2  # the first figures: a paper's opening figure is usually its overview
CAPTION_CHARS = 600  # kept on the digest; renderers cut further to their own limits

HEADING: dict[Lang, str] = {"ko": "🖼️ 추가 자료", "en": "🖼️ Figures"}
_LABEL: dict[Lang, str] = {"ko": "그림", "en": "Figure"}


def shown_figures(figures: list[Figure]) -> list[Figure]:
    """The first SHOWN figures that have an image, captions cut to CAPTION_CHARS."""
    picked = [f for f in figures if f.image_url][:SHOWN]
    return [f.model_copy(update={"caption": truncate(f.caption, CAPTION_CHARS)}) for f in picked]


def label(figure: Figure, lang: Lang, position: int) -> str:
    """"Figure 2" / "그림 2": the paper's own number, else the position among the shown figures."""
    return f"{_LABEL[lang]} {figure.number or position}"
