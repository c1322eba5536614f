"""Typed inputs and outputs of the pacing machines.

Theory of operation: the campaign service keeps the live picture of the floor
(agents and lines). Once a second it sends a :class:`Tick` carrying a frozen
:class:`FloorView`; whenever something finishes it sends the matching outcome
event. A pacing machine answers with zero or one :class:`Dial` command. The
machines never see lead data or channels: they only decide *how many* calls to
start now and whether those calls must have an agent guaranteed.

Outcome vocabulary (what the dialer itself can observe, not ground truth):

=============  =============================================================
``human``      AMD (or the absence of AMD) classified the answer as a person;
               the call is routed to an agent or, failing that, abandoned.
``machine``    AMD classified the answer as an answering machine; hung up.
``no_answer``  ring timeout.
``busy``       busy signal.
``unobtain``   unobtainable / SIT tone / network failure.
=============  =============================================================
"""

from __future__ import annotations

from dataclasses import dataclass

OUTCOMES = ("human", "machine", "no_answer", "busy", "unobtain")


@dataclass(frozen=True, slots=True)
class FloorView:
    """Snapshot of one campaign's floor at the moment of a tick.

    Elapsed times are seconds since the agent entered the state (or since the
    call was dialled). ``ready`` agents are idle and not yet matched to a call.
    ``ringing_elapsed`` holds calls not answered yet; ``analysing`` counts calls
    answered and still in AMD; ``queued`` counts calls classified human that
    wait for an agent (at most 2 s, then they are abandoned).
    """

    logged_in: int
    ready: int
    talk_elapsed: tuple[float, ...] = ()
    wrap_elapsed: tuple[float, ...] = ()
    ringing_elapsed: tuple[float, ...] = ()
    analysing: int = 0
    queued: int = 0
    shift_remaining_s: float | None = None

    @property
    def pending_lines(self) -> int:
        """Lines dialled whose fate is not settled yet (no agent attached)."""
        return len(self.ringing_elapsed) + self.analysing + self.queued

    @property
    def talking(self) -> int:
        """Agents connected to a call."""
        return len(self.talk_elapsed)


@dataclass(frozen=True, slots=True)
class Tick:
    """Periodic decision point (the service sends one per second)."""

    view: FloorView


@dataclass(frozen=True, slots=True)
class AttemptEnded:
    """A dialled call got its classification ``outcome`` after ``elapsed_s``.

    ``elapsed_s`` runs from the dial to the verdict: ring time, plus AMD
    analysis time for answered calls.
    """

    outcome: str
    elapsed_s: float


@dataclass(frozen=True, slots=True)
class LiveAnswered:
    """A call classified human either reached an agent or was abandoned.

    ``abandoned`` means no agent within 2 s of the end of the greeting; the
    compliant recorded message was played and the call released.
    """

    abandoned: bool


@dataclass(frozen=True, slots=True)
class MachineDisposition:
    """An agent marked a call that AMD had passed as human as a machine.

    The dialer removes it from its live-answer count (it was never a person).
    """


@dataclass(frozen=True, slots=True)
class CallHandled:
    """An agent finished a live call: ``talk_s`` talking then ``wrap_s`` wrap-up."""

    talk_s: float
    wrap_s: float


@dataclass(frozen=True, slots=True)
class DayStarted:
    """A new regulator day (calendar day of the campaign) began.

    ``shift_s`` is the planned dialling window of the day, used only to project
    how many live answers the rest of the day will bring.
    """

    day: int
    shift_s: float


Event = Tick | AttemptEnded | LiveAnswered | MachineDisposition | CallHandled | DayStarted


@dataclass(frozen=True, slots=True)
class Dial:
    """Start ``count`` calls now.

    ``guaranteed_agent`` means every call has an idle agent reserved for it, so
    it cannot be abandoned (progressive mode; required after an abandon or a
    detected machine inside the lockout windows, see :mod:`.compliance`).
    ``amd`` False asks for the calls to go to an agent as soon as they are
    answered, without answering-machine detection: the UK regulator counts AMD
    false positives as abandons, and switching AMD off stops adding to them.
    """

    count: int
    guaranteed_agent: bool = False
    amd: bool = True


Command = Dial
