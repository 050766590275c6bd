"""A paper's full text from arXiv's web server: `{base}/html/{id}v{n}` (LaTeXML), else `{base}/pdf/{id}v{n}`.

Polite by construction: every request of the process waits its turn on one pacer (DIGEST_ARXIV_WEB_MIN_INTERVAL,
1 s by default), retries included; 429 and 5xx are retried honouring Retry-After (digest.sources._http); the
client the caller passes holds a single connection; the User-Agent says who is asking. A 404 for the HTML is
normal (arXiv has no rendering for papers LaTeXML cannot convert): the PDF is tried next.

Bodies are streamed and bounded (HTML_MAX_BYTES, PDF_MAX_BYTES): past the bound the rest is not read, and the
parse of what was read says it was truncated. Parsing runs in a worker thread so a large PDF does not stall the
event loop that also answers chat commands.
"""

from __future__ import annotations

import asyncio

import httpx

from digest.fulltext.html import parse_html
from digest.fulltext.model import FullText, NoFullText
from digest.fulltext.pdf import parse_pdf
from digest.sources import _http
from digest.sources._http import SourceUnavailable

SOURCE = "arxiv-web"
USER_AGENT = "paper-digest-bot/0.1 (daily digest of top AI papers; reads each paper once; +https://github.com/paper-digest-bot)"
# arXiv's largest LaTeXML pages (long, math-heavy papers) are a few MB; a page past this is cut, not refused.
HTML_MAX_BYTES = 10 * 2**20
# Figure-heavy PDFs run to tens of MB; text extraction needs the whole file, so one past this is rarely usable.
PDF_MAX_BYTES = 30 * 2**20

_pacer = _http.Pacer()  # one per process: arXiv's web pages and PDFs come from one host


class Unreachable(Exception):
    """arXiv did not answer usefully (timeouts, 5xx or 429 after retries, 403, connection refused): may pass."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def make_client(timeout_s: float) -> httpx.AsyncClient:
    """One connection, kept alive between the papers of a build."""
    return httpx.AsyncClient(
        timeout=timeout_s,
        headers={"User-Agent": USER_AGENT},
        follow_redirects=True,
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
    )


def html_url(base_url: str, paper_id: str, version: int) -> str:
    return f"{base_url.rstrip('/')}/html/{paper_id}v{version}"


def pdf_url(base_url: str, paper_id: str, version: int) -> str:
    return f"{base_url.rstrip('/')}/pdf/{paper_id}v{version}"


async def fetch_fulltext(
    client: httpx.AsyncClient,
    base_url: str,
    paper_id: str,
    version: int,
    *,
    min_interval_s: float = 1.0,
    retries: int = 4,
    backoff_s: float = 1.0,
) -> FullText | NoFullText:
    """The parsed paper, or a lasting NoFullText (no HTML and no usable PDF). Raises Unreachable otherwise."""

    async def get(url: str, max_bytes: int) -> tuple[bytes, bool, str] | None:
        """(body, cut, final URL); None for 404 or 410."""
        try:
            response = await _http.get(
                client,
                url,
                source=SOURCE,
                retries=retries,
                backoff_s=backoff_s,
                max_bytes=max_bytes,
                pace=lambda: _pacer.wait(min_interval_s),
            )
        except SourceUnavailable as exc:
            if exc.status in (404, 410):
                return None
            raise Unreachable(exc.reason) from None
        except httpx.HTTPError as exc:  # e.g. a body that does not decode as its Content-Encoding says
            raise Unreachable(f"{type(exc).__name__} for {url}") from None
        body = response.content
        return body[:max_bytes], len(body) > max_bytes, str(response.url)

    found = await get(html_url(base_url, paper_id, version), HTML_MAX_BYTES)
    if found is None:
        html_note = "no HTML rendering (HTTP 404)"
    else:
        body, cut, url = found
        parsed = await asyncio.to_thread(
            parse_html, body, page_url=url, paper_id=paper_id, version=version, truncated=cut
        )
        if parsed is not None:
            return parsed
        html_note = "the HTML page holds no LaTeXML article"
    found = await get(pdf_url(base_url, paper_id, version), PDF_MAX_BYTES)
    if found is None:
        return NoFullText(paper_id=paper_id, version=version, reason=f"{html_note}; no PDF (HTTP 404)")
    body, cut, url = found
    parsed = await asyncio.to_thread(parse_pdf, body, page_url=url, paper_id=paper_id, version=version, truncated=cut)
    if parsed is not None:
        return parsed
    if not body.lstrip()[:1024].startswith(b"%PDF-"):
        pdf_note = "the PDF address answered with something that is not a PDF"
    else:
        pdf_note = "no text could be read from the PDF" + (f" (cut at {PDF_MAX_BYTES // 2**20} MB)" if cut else "")
    return NoFullText(paper_id=paper_id, version=version, reason=f"{html_note}; {pdf_note}")
