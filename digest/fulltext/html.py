"""arXiv's HTML rendering (LaTeXML) -> FullText, with selectolax's Lexbor parser.

Lexbor builds the tree the way a browser does, so broken markup (unclosed tags, stray end tags, a page cut in
the middle) still gives a tree; the parse then reads only what LaTeXML writes:

  article.ltx_document > h1.ltx_title_document, div.ltx_abstract, section.ltx_section (h2.ltx_title with a
  span.ltx_tag number) > section.ltx_subsection > div.ltx_para > p.ltx_p; figure.ltx_figure (img.ltx_graphics
  with a relative src, figcaption.ltx_caption), figure.ltx_table; math with its TeX in alttext;
  section.ltx_bibliography (dropped).

Text never comes from scripts, styles, forms or inline SVG, and a URL is kept only when it is http(s) on the
page's own host: a `javascript:` or `data:` source, or an image on another host (a tracking pixel), is dropped.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from digest.fulltext.model import FullText, Section, Table
from digest.models import Figure
from digest.text import one_line

# Bounds on what one page can put into a FullText (a 60-page paper has about 250,000 characters of text).
MAX_TEXT_CHARS = 1_000_000
MAX_PARAGRAPH_CHARS = 20_000
MAX_SECTIONS = 400
MAX_FIGURES = 300
MAX_TABLES = 300
MAX_CAPTION_CHARS = 2_000
MAX_TABLE_CHARS = 4_000
# Elements cost memory in the tree (about 200 bytes each): a page of more tags than this is parsed only up to
# about this many. arXiv's pages have one tag per 20-30 bytes, so only a page built to blow up the tree is cut.
MAX_TAGS = 600_000

_DROPPED = (
    "script, style, noscript, template, iframe, object, embed, form, button, input, select, textarea, nav, "
    "svg, .ltx_bibliography, .ltx_page_header, .ltx_page_footer, .ltx_page_navbar, .ltx_TOC, .ltx_note, "
    ".ltx_ERROR, .ltx_authors, .ltx_tag_equation"
)
_SECTIONS = "section.ltx_section, section.ltx_subsection, section.ltx_subsubsection, section.ltx_appendix"
_LEVEL = {"ltx_section": 1, "ltx_appendix": 1, "ltx_subsection": 2, "ltx_subsubsection": 3}
_TEXT_BLOCKS = "p.ltx_p, .ltx_equation, .ltx_equationgroup"
_ANCHOR = re.compile(r"[A-Za-z][\w.:-]{0,63}")
_REFERENCES = re.compile(r"^(references|bibliography|works cited)$", re.IGNORECASE)
_TAG_NUMBER = re.compile(r"^(?:figure|fig\.|table|tab\.|section|appendix)?\s*([\w.\-]+?)[:.]?$", re.IGNORECASE)


def parse_html(
    body: bytes, *, page_url: str, paper_id: str, version: int, truncated: bool = False
) -> FullText | None:
    """The paper on this page; None when the page is not a LaTeXML article with text (an error page, a wall)."""
    fetched = len(body)
    tags = body.count(b"<")
    if tags > MAX_TAGS:
        body, truncated = body[: len(body) * MAX_TAGS // tags], True
    tree = LexborHTMLParser(body.decode("utf-8", errors="replace"))
    article = tree.css_first("article.ltx_document")
    if article is None:
        return None
    base = _base_url(tree, page_url)
    for node in tree.css("math"):
        node.replace_with(_math_text(node))
    for node in article.css(_DROPPED):
        node.decompose()
    budget = _Budget(MAX_TEXT_CHARS)
    figures = _figures(article, base, page_url)
    tables = _tables(article)
    for node in article.css("figure"):  # their captions are kept above; they are not body text
        node.decompose()
    abstract = _abstract(article, budget)
    sections = _sections(article, budget)
    if not abstract and not any(s.paragraphs for s in sections):
        return None
    title_node = article.css_first("h1.ltx_title_document") or tree.css_first("title")
    return FullText(
        paper_id=paper_id,
        version=version,
        source="html",
        url=page_url,
        title=_clip(_text(title_node), 500) if title_node is not None else "",
        abstract=abstract,
        sections=sections,
        figures=figures,
        tables=tables,
        fetched_bytes=fetched,
        truncated=truncated or budget.cut,
    )


class _Budget:
    """How much text is left to take; once spent, the rest of the page is left out. `cut`: something was."""

    def __init__(self, chars: int) -> None:
        self.left = chars
        self.cut = False

    def take(self, text: str, limit: int = MAX_PARAGRAPH_CHARS) -> str | None:
        """`text` within the paragraph limit and what is left; None once nothing is left."""
        if self.left <= 0:
            self.cut = True
            return None
        if len(text) > min(limit, self.left):
            text, self.cut = _clip(text, min(limit, self.left)), True
        self.left -= len(text)
        return text


def _base_url(tree: LexborHTMLParser, page_url: str) -> str:
    """Relative URLs resolve against <base href> when the page has one (arXiv's pages may), else the page."""
    node = tree.css_first("head base[href]")
    href = node.attributes.get("href") if node is not None else None
    candidate = _resolve(page_url, href or "", page_url)
    return candidate if href and candidate else page_url


def _resolve(base: str, src: str, page_url: str) -> str | None:
    """`src` as an absolute http(s) URL on the page's own host; None otherwise (or when it does not parse)."""
    src = src.strip()
    if not src:
        return None
    try:
        url = urljoin(base, src)
        a, b = urlsplit(url), urlsplit(page_url)
    except ValueError:  # e.g. "http://[bad" is not a URL
        return None
    return url if a.scheme in ("http", "https") and (a.scheme, a.netloc) == (b.scheme, b.netloc) else None


def _math_text(node: LexborNode) -> str:
    alt = node.attributes.get("alttext")
    if not alt:
        tex = node.css_first('annotation[encoding="application/x-tex"]')
        alt = tex.text() if tex is not None else node.text(separator=" ")
    return one_line(alt)


def _text(node: LexborNode) -> str:
    return one_line(node.text(separator=""))


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _anchor(node: LexborNode) -> str | None:
    value = node.attributes.get("id")
    return value if value and _ANCHOR.fullmatch(value) else None


def _tag_number(caption: LexborNode) -> tuple[str | None, str]:
    """("3", "the caption without 'Figure 3:'") from a LaTeXML caption."""
    tag = caption.css_first(".ltx_tag")
    number = None
    if tag is not None:
        match = _TAG_NUMBER.match(_text(tag))
        number = match.group(1) if match else None
        tag.decompose()
    return number, _clip(_text(caption).lstrip(":. "), MAX_CAPTION_CHARS)


def _own_caption(node: LexborNode) -> LexborNode | None:
    """The figure's own figcaption, not one of a sub-figure panel inside it."""
    child = node.child
    while child is not None:
        if child.tag == "figcaption":
            return child
        child = child.next
    return next((c for c in node.css("figcaption") if _nearest(c, "figure") is node), None)


def _nearest(node: LexborNode, tag: str) -> LexborNode | None:
    parent = node.parent
    while parent is not None and parent.tag != tag:
        parent = parent.parent
    return parent


def _figures(article: LexborNode, base: str, page_url: str) -> list[Figure]:
    figures: list[Figure] = []
    for node in article.css("figure.ltx_figure"):
        if len(figures) >= MAX_FIGURES:
            break
        if _nearest(node, "figure") is not None:  # a panel of a larger figure
            continue
        caption = _own_caption(node)
        number, text = _tag_number(caption) if caption is not None else (None, "")
        sources = (img.attributes.get("src") or "" for img in node.css("img"))
        image = next((url for src in sources if (url := _resolve(base, src, page_url))), None)
        if image or text:
            figures.append(Figure(number=number, caption=text, image_url=image, anchor=_anchor(node)))
    return figures


def _tables(article: LexborNode) -> list[Table]:
    tables: list[Table] = []
    for node in article.css("figure.ltx_table"):
        if len(tables) >= MAX_TABLES:
            break
        caption = _own_caption(node)
        number, text = _tag_number(caption) if caption is not None else (None, "")
        if caption is not None:
            caption.decompose()
        rows = []
        size = 0
        for row in node.css("tr"):
            cells = [_text(cell) for cell in row.css("td, th")]
            line = " | ".join(c for c in cells if c)
            if line:
                rows.append(line)
                size += len(line) + 1
            if size > MAX_TABLE_CHARS:
                break
        tables.append(Table(number=number, caption=text, anchor=_anchor(node), text=_clip("\n".join(rows), MAX_TABLE_CHARS)))
    return tables


def _abstract(article: LexborNode, budget: _Budget) -> str:
    node = article.css_first(".ltx_abstract")
    if node is None:
        return ""
    heading = node.css_first(".ltx_title")
    if heading is not None:
        heading.decompose()
    parts = [_text(p) for p in node.css("p.ltx_p")] or [_text(node)]
    return budget.take(" ".join(p for p in parts if p)) or ""


def _heading(node: LexborNode) -> tuple[str | None, str]:
    child = node.child
    while child is not None:
        if child.tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            number, text = _tag_number(child)
            return number, _clip(text, 300)
        child = child.next
    return None, ""


def _sections(article: LexborNode, budget: _Budget) -> list[Section]:
    sections: list[Section] = []
    by_node: dict[int, Section | None] = {}  # a section node's mem_id -> its Section (None: left out)
    for node in article.css(_SECTIONS):
        classes = (node.attributes.get("class") or "").split()
        level = next((_LEVEL[c] for c in classes if c in _LEVEL), 1)
        number, heading = _heading(node)
        if _REFERENCES.match(heading) or _dropped(node, by_node):
            by_node[node.mem_id] = None
            continue
        if len(sections) >= MAX_SECTIONS:
            budget.cut = True
            break
        section = Section(number=number, heading=heading, anchor=_anchor(node), level=level)
        by_node[node.mem_id] = section
        sections.append(section)
    lead: Section | None = None  # paragraphs before the first section (short papers have no sections at all)
    for para in article.css("div.ltx_para"):
        if _nearest_para(para) is not None:  # a paragraph inside a list item of another paragraph
            continue
        owner_node = _section_node(para)
        if owner_node is not None and owner_node.mem_id not in by_node:
            continue  # beyond the section limit
        if owner_node is not None and by_node[owner_node.mem_id] is None:
            continue  # the references
        text = _paragraph_text(para)
        if not text:
            continue
        kept = budget.take(text)
        if kept is None:
            break
        if owner_node is None:
            if _inside(para, "ltx_abstract"):
                continue
            if lead is None:
                lead = Section()
                sections.insert(0, lead)
            lead.paragraphs.append(kept)
        else:
            owner = by_node[owner_node.mem_id]
            assert owner is not None
            owner.paragraphs.append(kept)
    return sections


def _dropped(node: LexborNode, by_node: dict[int, Section | None]) -> bool:
    """A section nested in a left-out section (a sub-section of the references)."""
    parent = node.parent
    while parent is not None:
        if parent.mem_id in by_node:
            return by_node[parent.mem_id] is None
        parent = parent.parent
    return False


def _section_node(node: LexborNode) -> LexborNode | None:
    parent = node.parent
    while parent is not None:
        if parent.tag == "section" and any(c in _LEVEL for c in (parent.attributes.get("class") or "").split()):
            return parent
        if parent.tag == "article":
            return None
        parent = parent.parent
    return None


def _nearest_para(node: LexborNode) -> LexborNode | None:
    parent = node.parent
    while parent is not None and parent.tag != "article":
        if parent.tag == "div" and "ltx_para" in (parent.attributes.get("class") or "").split():
            return parent
        parent = parent.parent
    return None


def _inside(node: LexborNode, css_class: str) -> bool:
    parent = node.parent
    while parent is not None:
        if css_class in (parent.attributes.get("class") or "").split():
            return True
        parent = parent.parent
    return False


def _paragraph_text(para: LexborNode) -> str:
    """The paragraph's text blocks (p.ltx_p, displayed equations) joined by spaces, each block's inline text as
    written (no space added around <em> or a link), so a quote of the paragraph can be found verbatim."""
    blocks = para.css(_TEXT_BLOCKS)
    if not blocks:
        return _text(para)
    kept: set[int] = set()
    parts: list[str] = []
    for block in blocks:
        ancestor = block.parent
        nested = False
        while ancestor is not None and ancestor.mem_id != para.mem_id:
            if ancestor.mem_id in kept:
                nested = True
                break
            ancestor = ancestor.parent
        if nested:
            continue
        kept.add(block.mem_id)
        text = _text(block)
        if text:
            parts.append(text)
    # A heading of a run-in paragraph (\paragraph{Setup.}) leads its first paragraph.
    run_in = para.parent
    if run_in is not None and "ltx_paragraph" in (run_in.attributes.get("class") or "").split():
        title = run_in.css_first(".ltx_title")
        first = next((c for c in run_in.css("div.ltx_para")), None)
        if title is not None and first is not None and first.mem_id == para.mem_id:
            parts.insert(0, _text(title))
    return " ".join(parts)
