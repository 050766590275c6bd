"""Paper sources: one module each behind `base.Source`, listed once in `registry`."""

from digest.sources.registry import AUTO_CHAIN, CHOICES, REGISTRY, UnknownSource, make_source, source_label

__all__ = ["AUTO_CHAIN", "CHOICES", "REGISTRY", "UnknownSource", "make_source", "source_label"]
