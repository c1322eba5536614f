"""Live AMD's pure vocabulary: the names of a detection's Asterisk objects, its result, times.

No I/O here (the ``pure`` import contract): the detection session
(:mod:`controlplane.amd_live.detection`) and the restart sweep
(:mod:`controlplane.calls.amd_orphans`) both name objects with :func:`object_ids`, so a
restarted daemon finds a dead detection's leftovers from the call id alone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

from amd.verdict import Label

SAMPLE_RATE = 16000
FRAME_BYTES = 640  # 20 ms of slin16
AMD_CONTEXT = "centrala-amd"
AMD_RESULT_VAR = "CENTRALA_AMD"
# Asterisk's AMD() for comparison runs in the [centrala-amd] context of the rendered
# dialplan (dialplan/templates/extensions.conf.j2) and leaves its result in CENTRALA_AMD
# as STATUS/CAUSE/epoch seconds (with ms).


@dataclass(frozen=True)
class LiveAmdResult:
    """Both detectors' answers for one call. Times are ms from the answer."""

    centrala: Label
    cause: str
    decision_ms: int | None  # answer → verdict in hand (wall clock)
    audio_ms: int | None  # the detector's own audio clock at the verdict (from the first frame)
    setup_ms: int | None  # answer → first audio frame received
    frames: int = 0
    timed_out: bool = False
    hung_up: bool = False  # the audio ended (party hung up) before a verdict
    detector_cpu_ms: float = 0.0  # CPU time of the detector (worker thread)
    app_amd_status: str | None = None  # MACHINE/HUMAN/NOTSURE/HANGUP; None: not run/no answer
    app_amd_cause: str | None = None
    app_amd_ms: int | None = None
    objects: tuple[str, ...] = field(default=(), repr=False)  # what was created (and torn down)


def hung_up_result(objects: tuple[str, ...]) -> LiveAmdResult:
    """The called party left before any audio reached the detector."""
    return LiveAmdResult(Label.NOTSURE, "HANGUP", None, None, None, hung_up=True,
                         objects=objects)


def object_ids(channel_id: str) -> dict[str, str]:
    """Names of the objects a detection creates for ``channel_id``."""
    return {
        "snoop": f"{channel_id}-amd-snoop",
        "media": f"{channel_id}-amd-media",
        "bridge": f"{channel_id}-amd-bridge",
        "ref": f"{channel_id}-amd-ref",
    }


def epoch(at: datetime | float | None) -> float:
    """Epoch seconds of ``at`` (a datetime, epoch seconds, or None for now)."""
    if at is None:
        return time.time()
    if isinstance(at, datetime):
        return at.timestamp()
    return float(at)


def ms_between(a: float | None, b: float) -> int | None:
    """Whole milliseconds from ``b`` to ``a`` (None when ``a`` never happened)."""
    return None if a is None else round((a - b) * 1000)


def parse_app_amd(value: str) -> tuple[str, str, float] | None:
    """``STATUS/CAUSE/epoch-s`` as AMD() left it in ``CENTRALA_AMD``; None: not a result."""
    parts = value.split("/")
    if len(parts) == 3 and parts[0]:
        try:
            return parts[0], parts[1], float(parts[2])
        except ValueError:
            return None
    return None


@dataclass(frozen=True)
class AmdDecision:
    """What a campaign call needs of a detection: the label and why (from :class:`LiveAmdResult`).

    ``source``: ``detector`` (a verdict), ``timeout`` (decided at the deadline with what was
    heard), ``hangup`` (the audio ended first) or ``error`` (no detection: NOTSURE, a person).
    """

    label: str  # HUMAN / MACHINE / NOTSURE
    cause: str = ""
    source: str = "error"
    decision_ms: int | None = None

    @property
    def human(self) -> bool:
        """Anything but MACHINE is treated as a person (NOTSURE included)."""
        return self.label != "MACHINE"

    @classmethod
    def of(cls, result: LiveAmdResult) -> AmdDecision:
        source = "timeout" if result.timed_out else "hangup" if result.hung_up else "detector"
        return cls(result.centrala.value, result.cause, source, result.decision_ms)


NOT_DECIDED = AmdDecision("NOTSURE")  # the detection failed: a person, never stranded
