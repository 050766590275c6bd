"""A paper's full text: arXiv's HTML (LaTeXML) or PDF -> sections, passages, figures; cached per id and version.

  model    FullText, NoFullText, Section, Table, Passage; the stored (compressed) form
  fetch    arXiv web: HTML first, PDF as fallback; paced, bounded, retried
  html     the LaTeXML parse (selectolax);  pdf  the PDF text parse (pypdf)
  library  store first, then arXiv, then the store: FullTexts, and the build's step (fetch_for_papers)
  outline  `digestbot fulltext ID`: the parsed outline, for debugging
  ref      arXiv ids and URLs with their version

Only the model is imported here: the store imports it, and the rest imports the store.
"""

from digest.fulltext.model import Entry, FullText, NoFullText, Passage, Section, Table

__all__ = ["Entry", "FullText", "NoFullText", "Passage", "Section", "Table"]
