"""Fake outside services: real HTTP servers on 127.0.0.1, strict like the real ones, scriptable to fail."""
