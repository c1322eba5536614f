"""The validator's error type (kept apart so every checking module can import it)."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection
from dataclasses import dataclass

AudioExists = Callable[[str, str], bool]
"""``audio_exists(kind, name)``: kind is "sound" (Asterisk sound name) or "audio" (upload id)."""


@dataclass(frozen=True)
class FlowError:
    """One problem in a flow: where (JSON pointer), what is wrong, and how to fix it."""

    pointer: str
    code: str
    message: str
    hint: str

    def __str__(self) -> str:
        return f"#{self.pointer}: {self.message} ({self.hint})"


def suggest(name: str, candidates: Collection[str]) -> str:
    """A hint naming the closest candidate, or listing a few of them."""
    close = difflib.get_close_matches(name, sorted(candidates), n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    listed = ", ".join(sorted(candidates)[:8])
    return f"use one of: {listed}" if listed else "define it first"
