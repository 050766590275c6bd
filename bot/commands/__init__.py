"""Follow-up commands ("/paper 3 risks", "/digest 2026-02-10", "/help"): parse and answer, no platform code."""
