"""Fake arXiv web server: `/html/{id}v{n}` (LaTeXML pages), `/pdf/{id}v{n}` (PDFs generated here), images.

The 2026-01-08 reference day as it serves it (`FakeArxivWeb()`):
  2601.02151v1  HTML: sections, math, a table, a figure drawn in SVG (no image), so no figures section
  2601.03509v1  HTML with figures (relative src), sub-figure panels, a table, math, references, scripts
  2601.03872v1  no HTML (404); a PDF generated with fpdf2
  2601.03986v1  neither HTML nor PDF (404, 404)
  2601.04151v1  a long generated page (tests put a 429 with Retry-After in front of it)

PDFs are generated with fpdf2 (pure Python, no system fonts: the PDF core fonts), so a test or the bench can
make a paper of any length without a binary fixture.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from functools import lru_cache
from html import escape
from pathlib import Path

from fpdf import FPDF
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.base import FakeService

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "arxiv_web"
# A 1x1 transparent PNG: what the image URLs answer.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)

_WORDS = [
    "model", "training", "data", "skill", "network", "policy", "agent", "reward", "token", "entropy",
    "gradient", "layer", "attention", "benchmark", "task", "program", "library", "update", "gate", "value",
    "loss", "baseline", "result", "method", "approach", "evaluation", "dataset", "sample", "representation",
    "language", "reasoning", "tool", "alignment", "generation", "audio", "video", "caption", "latent",
    "diffusion",
]


def prose(rng: random.Random, sentences: int) -> str:
    """Deterministic English-looking sentences (a seeded Random): text of a realistic size, nothing more."""
    out = []
    for _ in range(sentences):
        words = [rng.choice(_WORDS) for _ in range(rng.randint(12, 24))]
        out.append(" ".join(words).capitalize() + ".")
    return " ".join(out)


def _math(rng: random.Random, n: int) -> str:
    """Inline math as LaTeXML writes it: presentation MathML, content MathML and the TeX (most of a page's bytes)."""
    k = rng.randint(1, 9)
    tex = f"x_{{{n}}}^{{2}}+\\alpha_{{{k}}}"
    return (
        f'<math alttext="{escape(tex)}" class="ltx_Math" display="inline" id="m{n}"><semantics id="m{n}a">'
        f'<mrow id="m{n}b"><msubsup id="m{n}c"><mi id="m{n}d">x</mi><mn id="m{n}e">{n}</mn><mn id="m{n}f">2</mn>'
        f'</msubsup><mo id="m{n}g">+</mo><msub id="m{n}h"><mi id="m{n}i">α</mi><mn id="m{n}j">{k}</mn></msub></mrow>'
        f'<annotation-xml encoding="MathML-Content" id="m{n}k"><apply id="m{n}l"><plus id="m{n}m"></plus>'
        f'<apply id="m{n}n"><csymbol cd="ambiguous">superscript</csymbol><apply><csymbol cd="ambiguous">subscript'
        f"</csymbol><ci>𝑥</ci><cn type=\"integer\">{n}</cn></apply><cn type=\"integer\">2</cn></apply><apply>"
        f'<csymbol cd="ambiguous">subscript</csymbol><ci>𝛼</ci><cn type="integer">{k}</cn></apply></apply>'
        f'</annotation-xml><annotation encoding="application/x-tex" id="m{n}o">{escape(tex)}</annotation>'
        f'<annotation encoding="application/x-llamapun" id="m{n}p">x start_POSTSUBSCRIPT {n} end_POSTSUBSCRIPT '
        f"start_POSTSUPERSCRIPT 2 end_POSTSUPERSCRIPT + italic_alpha start_POSTSUBSCRIPT {k} end_POSTSUBSCRIPT"
        "</annotation></semantics></math>"
    )


def _cite(rng: random.Random) -> str:
    n = rng.randint(1, 80)
    return (
        f'<cite class="ltx_cite ltx_citemacro_citep">(<a class="ltx_ref" href="#bib.bib{n}" title="">Author '
        f'et al.</a>, <a class="ltx_ref" href="#bib.bib{n}" title="">{rng.randint(2015, 2025)}</a>)</cite>'
    )


def latexml_page(
    paper_id: str,
    version: int,
    title: str,
    *,
    pages: int = 12,
    figures: bool = True,
    seed: int = 7,
) -> str:
    """A LaTeXML-style page of about `pages` printed pages: ~5 paragraphs of ~700 characters per page, a section
    every 8 paragraphs (with subsections), a figure every 2 pages, a table every 5, six inline formulas and two
    citations per paragraph, a bibliography."""
    rng = random.Random(seed)
    ref = f"{paper_id}v{version}"
    body: list[str] = []
    paragraphs = pages * 5
    section = 0
    math_n = 0
    for p in range(paragraphs):
        if p % 8 == 0:
            if section:
                body.append("</section>")
            section += 1
            heading = "Introduction" if section == 1 else f"Analysis part {section}"
            body.append(
                f'<section class="ltx_section" id="S{section}"><h2 class="ltx_title ltx_title_section">'
                f'<span class="ltx_tag ltx_tag_section">{section} </span>{heading}</h2>'
            )
        if p % 8 == 4:
            body.append(
                f'<section class="ltx_subsection" id="S{section}.SS1"><h3 class="ltx_title ltx_title_subsection">'
                f'<span class="ltx_tag ltx_tag_subsection">{section}.1 </span>Details {section}</h3></section>'
            )
        math_n += 6
        formulas = [_math(rng, math_n - k) for k in range(6)]
        text = (
            prose(rng, 2) + f" {_cite(rng)} Here {formulas[0]}, {formulas[1]} and {formulas[2]} hold. "
            + prose(rng, 2) + f" {_cite(rng)} Then {formulas[3]} bounds {formulas[4]} by {formulas[5]}. "
            + prose(rng, 2)
        )
        body.append(f'<div class="ltx_para" id="S{section}.p{p % 8 + 1}"><p class="ltx_p">{text}</p></div>')
        if figures and p % 10 == 9:
            n = p // 10 + 1
            body.append(
                f'<figure class="ltx_figure" id="S{section}.F{n}"><img alt="Refer to caption" class="ltx_graphics" '
                f'src="{ref}/x{n}.png" width="600" height="300"/><figcaption class="ltx_caption">'
                f'<span class="ltx_tag ltx_tag_figure">Figure {n}: </span>{prose(rng, 2)}</figcaption></figure>'
            )
        if p % 25 == 24:
            n = p // 25 + 1
            rows = "".join(f"<tr><td>method {r}</td><td>{rng.randint(10, 99)}.{r}</td></tr>" for r in range(6))
            body.append(
                f'<figure class="ltx_table" id="S{section}.T{n}"><figcaption class="ltx_caption">'
                f'<span class="ltx_tag ltx_tag_table">Table {n}: </span>{prose(rng, 1)}</figcaption>'
                f'<table class="ltx_tabular">{rows}</table></figure>'
            )
    body.append("</section>")
    body.append('<section class="ltx_section" id="S99"><h2 class="ltx_title ltx_title_section">'
                '<span class="ltx_tag ltx_tag_section">99 </span>Conclusion</h2>'
                f'<div class="ltx_para" id="S99.p1"><p class="ltx_p">{prose(rng, 4)}</p></div></section>')
    bib = "".join(f'<li class="ltx_bibitem">Reference {n}. {prose(rng, 1)}</li>' for n in range(pages * 2))
    body.append(f'<section class="ltx_bibliography" id="bib"><h2 class="ltx_title">References</h2><ul>{bib}</ul></section>')
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"/><title>{escape(title)}</title></head><body>'
        f'<div class="ltx_page_main"><article class="ltx_document"><h1 class="ltx_title ltx_title_document">'
        f'{escape(title)}</h1><div class="ltx_abstract"><h6 class="ltx_title">Abstract</h6><p class="ltx_p">'
        f"{prose(rng, 5)}</p></div>{''.join(body)}</article></div></body></html>"
    )


def paper_pdf(title: str, sections: list[tuple[str, list[str]]], *, abstract: str = "") -> bytes:
    """A PDF of the paper: title, abstract, numbered section headings, paragraphs, references."""
    pdf = FPDF(format="A4")
    pdf.set_title(title)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    pdf.multi_cell(0, 8, title)
    pdf.ln(4)
    if abstract:
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(0, 6, "Abstract", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=10)
        pdf.multi_cell(0, 5, abstract)
        pdf.ln(3)
    for number, (heading, paragraphs) in enumerate(sections, 1):
        pdf.set_font("Helvetica", "B", 12)
        pdf.cell(0, 7, f"{number} {heading}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=10)
        for paragraph in paragraphs:
            pdf.multi_cell(0, 5, paragraph)
            pdf.ln(2)
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 7, "References", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    pdf.multi_cell(0, 4, "[1] BIBLIOGRAPHY ENTRY. A paper we cite. 2025.")
    return bytes(pdf.output())


def long_pdf(title: str, pages: int = 40, seed: int = 11) -> bytes:
    """A PDF of `pages` pages of prose under numbered sections (for the bench); the last page is short.

    Each word is its own text operation, as in the PDFs LaTeX makes (kerned TJ arrays), so extracting its text
    costs what a real paper's does; a paragraph per multi_cell would be several times cheaper."""
    rng = random.Random(seed)
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    pdf.multi_cell(0, 8, title)
    right = pdf.w - pdf.r_margin
    section = 0
    while pdf.page_no() < pages:
        section += 1
        pdf.set_font("Helvetica", "B", 12)
        pdf.ln(3)
        pdf.cell(0, 7, f"{section} Part {section}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=10)
        for _ in range(6):
            for word in prose(rng, 6).split():
                if pdf.get_x() + pdf.get_string_width(word + " ") + 2 * pdf.c_margin > right:
                    pdf.ln(5)
                pdf.write(5, word + " ")
            pdf.ln(7)
            if pdf.page_no() >= pages:
                break
    return bytes(pdf.output())


@lru_cache(maxsize=1)
def atlas_pdf() -> bytes:
    return paper_pdf(
        "Atlas: Orchestrating Heterogeneous Models and Tools for Multi-Domain Complex Reasoning",
        [
            (
                "Introduction",
                [
                    "Pairing large language models with external tools has broadened what agents can do, but "
                    "choosing a model-tool combination has become a high-dimensional optimization problem.",
                    "We present ATLAS, which routes each query along one of two complementary paths.",
                ],
            ),
            (
                "Method",
                [
                    "The first path performs training-free cluster-based routing from empirical priors; the "
                    "second explores trajectories with reinforcement learning for out-of-distribution queries.",
                ],
            ),
            ("Conclusion", ["Dual-path routing orchestrates heterogeneous models and tools across domains."]),
        ],
        abstract="ATLAS orchestrates heterogeneous models and tools for multi-domain complex reasoning.",
    )


class FakeArxivWeb(FakeService):
    """`GET /html/{id}v{n}`, `/html/{id}v{n}/{image}`, `/pdf/{id}v{n}`; unknown papers answer 404 as arXiv does.

    `html` and `pdf` map "idvN" to a body; `streamed` to (head, chunk, total bytes): the head, then the chunk
    again and again, sent without a length; `short` to a body sent with a Content-Length larger than it (the
    connection drops mid-body). `max_in_flight` is the most requests it was ever answering at once."""

    def __init__(self, *, reference_day: bool = True) -> None:
        super().__init__()
        self.html: dict[str, bytes] = {}
        self.pdf: dict[str, bytes] = {}
        self.streamed: dict[str, tuple[bytes, bytes, int]] = {}
        self.short: dict[str, bytes] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        if reference_day:
            for path in FIXTURES.glob("*.html"):
                self.html[path.stem] = path.read_bytes()
            self.pdf["2601.03872v1"] = atlas_pdf()
            self.html["2601.04151v1"] = latexml_page(
                "2601.04151", 1, "Klear: Unified Multi-Task Audio-Video Joint Generation", pages=30, figures=False
            ).encode()
        self.app = Starlette(
            routes=[
                Route("/html/{ref}", self.html_page),
                Route("/html/{ref}/{path:path}", self.image),
                Route("/pdf/{ref}", self.pdf_file),
            ]
        )

    def requests(self) -> list[str]:
        """The paths asked for, in order (the request log the tests assert on)."""
        with self._lock:
            return [c.path for c in self.calls]

    async def _serve(self, request: Request, bodies: dict[str, bytes], media_type: str) -> Response:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._answer(request, bodies, media_type)
        finally:
            with self._lock:
                self.in_flight -= 1

    async def _answer(self, request: Request, bodies: dict[str, bytes], media_type: str) -> Response:
        await self.record(request)
        if (fault := await self.fault_for(request.url.path)) is not None:
            return fault
        ref = request.path_params["ref"].removesuffix(".pdf")
        if ref in self.short:
            body = self.short[ref]
            return Response(body, media_type=media_type, headers={"content-length": str(len(body) + 4096)})
        if ref in self.streamed:
            head, chunk, total = self.streamed[ref]

            async def chunks() -> AsyncIterator[bytes]:
                yield head
                sent = len(head)
                while sent < total:
                    yield chunk
                    sent += len(chunk)

            return StreamingResponse(chunks(), media_type=media_type)
        if ref in bodies:
            return Response(bodies[ref], media_type=media_type)
        return HTMLResponse(f"<html><body><h1>Not Found</h1><p>No document {escape(ref)}</p></body></html>", 404)

    async def html_page(self, request: Request) -> Response:
        return await self._serve(request, self.html, "text/html; charset=utf-8")

    async def pdf_file(self, request: Request) -> Response:
        return await self._serve(request, self.pdf, "application/pdf")

    async def image(self, request: Request) -> Response:
        await self.record(request)
        if request.path_params["ref"] not in self.html:
            return Response(status_code=404)
        return Response(PNG, media_type="image/png")
