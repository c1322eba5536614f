"""Adapters from the pure pacing machines to the simulator's policy protocol.

The engine calls ``tick(view, now) -> (count, amd)`` once a second and, if
``wants_events``, ``event(ev, now)`` for every outcome. Each adapter owns the
state value of one machine and replaces it after every ``step`` call, exactly
as the campaign service does.
"""

from __future__ import annotations

from controlplane.dialer import baselines, pacing
from controlplane.dialer import regulator as reg
from controlplane.dialer.compliance import Regulator
from controlplane.dialer.events import DayStarted, FloorView, Tick

POLICIES = ("progressive", "fixed_ratio", "vicidial_tapered", "centrala")
FIXED_RATIO = 1.1


class Progressive:
    """One call per ready agent; ignores outcomes."""

    wants_events = False
    time_invariant = True  # the answer depends on floor counts only

    def start_day(self, day: int, shift_s: float, now: float) -> None:
        """Nothing to reset."""

    def tick(self, view: FloorView, now: float) -> tuple[int, bool]:
        return baselines.progressive_calls(view), True


class FixedRatio(Progressive):
    """``FIXED_RATIO`` lines per available agent."""

    def __init__(self, ratio: float = FIXED_RATIO) -> None:
        self.ratio = ratio

    def tick(self, view: FloorView, now: float) -> tuple[int, bool]:
        return baselines.fixed_ratio_calls(view, self.ratio), True


class _Machine:
    wants_events = True

    def __init__(self, state, step) -> None:
        self.state, self._step = state, step

    def start_day(self, day: int, shift_s: float, now: float) -> None:
        self.event(DayStarted(day, shift_s), now)

    def event(self, ev, now: float) -> None:
        self.state, _ = self._step(self.state, ev, now)

    def tick(self, view: FloorView, now: float) -> tuple[int, bool]:
        self.state, cmds = self._step(self.state, Tick(view), now)
        if not cmds:
            return 0, True
        return sum(c.count for c in cmds), cmds[0].amd


class VicidialTapered(_Machine):
    """The ADAPT_TAPERED port; the shift is mapped onto 09:00-17:00 server time."""

    def __init__(self, shift_s: float) -> None:
        cfg = baselines.VicidialConfig(clock_scale=8 * 3600.0 / shift_s)
        super().__init__(baselines.VicidialState(cfg), baselines.vicidial_step)


class Centrala(_Machine):
    """The Centrala policy with the scenario's regulator."""

    def __init__(self, regulator: Regulator, fp_share: float) -> None:
        cfg = pacing.CentralaConfig(reg.RegulatorConfig(regulator, fp_share=fp_share))
        super().__init__(pacing.initial_state(cfg), pacing.step)

    @property
    def mode(self) -> str:
        return self.state.mode


def make(name: str, regulator: Regulator, fp_share: float, shift_s: float):
    """Fresh policy adapter by benchmark name."""
    if name == "progressive":
        return Progressive()
    if name == "fixed_ratio":
        return FixedRatio()
    if name == "vicidial_tapered":
        return VicidialTapered(shift_s)
    if name == "centrala":
        return Centrala(regulator, fp_share)
    raise ValueError(f"unknown policy {name!r}")
