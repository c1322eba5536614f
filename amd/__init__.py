"""Answering-machine detection for Centrala.

* :class:`amd.detector.StreamingDetector` — the live detector (20 ms slin16 frames);
* :class:`amd.app_amd.AppAmdDetector` — Asterisk ``app_amd`` re-implemented as baseline;
* ``python -m amd eval|corpus|train`` — evaluation, corpus and training tools.
"""

from amd.verdict import Label, Verdict

__all__ = ["Label", "Verdict"]
