"""The verdict every detector returns: a label, a cause string and a decision time."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Label(enum.StrEnum):
    """What answered the call."""

    HUMAN = "HUMAN"
    MACHINE = "MACHINE"
    NOTSURE = "NOTSURE"


@dataclass(frozen=True, slots=True)
class Verdict:
    """A detector's decision.

    ``decision_ms`` is the audio time (ms from the first sample fed) at which the
    decision was taken, i.e. the end of the frame that triggered it.
    """

    label: Label
    cause: str
    decision_ms: int
