"""Text to speech: the engine interface and the billing rule.

Billing rule (FEATURES.md §3: "billed per character, dynamic prompts bill only
the variable part"):

* A **static** TTS prompt (text without ``{variables}``) is the same on every
  call; it is synthesized once, cached, and billed ``len(text)`` characters
  once per distinct ``(text, voice)`` when a flow version is deployed
  (:func:`static_prompts` lists them). Its per-call :class:`~ivr_flows.commands.Play`
  has ``billable_chars == 0``.
* A **dynamic** TTS prompt is billed per call for the characters of the
  substituted variable values only: ``"Saldo: {balance} zł"`` with
  ``balance = "120.50"`` bills 6. The literal parts are not billed.

Characters are Python ``str`` characters (Unicode code points), so "zł" is 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from .model import Flow
from .templates import TemplateError, parse


class TtsEngine(Protocol):
    """Turns text into an audio file Asterisk can play (the lead's espeak-ng adapter)."""

    def synthesize(self, text: str, voice: str) -> Path:
        """Return the path of a file with ``text`` spoken by ``voice`` (may be cached)."""
        ...


def static_prompts(flow: Flow) -> set[tuple[str, str]]:
    """Distinct ``(text, voice)`` of the flow's static TTS prompts, to bill once at deploy.

    ``voice`` is the item's own voice or the flow's default voice; a call that
    switched language may speak the same text in another voice, which the
    adapter bills as a new cache entry.
    """
    found: set[tuple[str, str]] = set()
    for node in flow.nodes.values():
        for field in ("prompt", "no_input_prompt", "invalid_prompt"):
            for item in getattr(node, field, ()):
                if item.kind != "tts":
                    continue
                try:
                    static = parse(item.value).is_static
                except TemplateError:
                    continue
                if static:
                    found.add((parse(item.value).render({})[0], item.voice or flow.settings.voice))
    return found


def static_billable_chars(flow: Flow) -> int:
    """Characters to bill once when a flow version with these static prompts is deployed."""
    return sum(len(text) for text, _ in static_prompts(flow))
