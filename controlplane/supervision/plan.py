"""The objects of one supervision session and the engine commands of each of its steps (pure).

Theory of operation
-------------------
A session ``sv<id>`` (its database row's id) owns, in its own Stasis app, the supervisor's
phone leg ``sv<id>-sv-phone`` (originated to the supervisor's desk phone or webphone), a
mixing bridge ``sv<id>-sv-bridge`` and at most one snoop ``sv<id>-sv-snoop<n>`` on the
call's agent leg. Once the phone answers, the phone joins the session's bridge and a mode is
applied:

* **listen**: a snoop ``spy=both`` (the supervisor hears agent and caller) in the session's
  bridge; the phone is muted on the server (``direction=in``), so nothing they say goes
  anywhere, whatever their phone does;
* **whisper**: a snoop ``spy=both whisper=out``: what the supervisor says is written into
  the agent leg towards the agent's phone only (the caller's leg never carries it); unmuted;
* **barge**: no snoop; the phone leaves the session's bridge for the call's own bridge
  (``<call>-bridge``), unmuted: all three talk.

Switching never redials: a snoop's whisper is fixed when it is made, so a switch hangs the
old snoop up and makes a new one (``<n>`` + 1: the old one's ChannelDestroyed is then told
apart from the call ending), and barge moves the phone between the two bridges.
:func:`teardown` removes the session's objects (channels first, then the bridge); it never
touches the call's own legs or bridge, so the call's hang-up and the agent's state owe it
nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from controlplane.engine import commands as c

MODES = ("listen", "whisper", "barge")
# The names of a session's objects (orphans.py sweeps whatever matches and is not live).
OBJECT = re.compile(r"^(?P<sid>sv\d+)-sv-(?P<kind>phone|bridge|snoop\d+)$")


def session_key(session_id: int) -> str:
    return f"sv{session_id}"


def owner_of(object_id: str) -> str | None:
    """``sv12-sv-snoop3`` (or -phone, -bridge) → ``sv12``; anything else → None."""
    found = OBJECT.match(object_id)
    return found["sid"] if found else None


@dataclass(frozen=True)
class Session:
    """One session as the daemon steers it."""

    session_id: int
    tenant_id: int
    call_id: str
    agent_channel: str  # the call's agent leg the snoop taps
    call_bridge: str  # the call's own bridge (barge)
    mode: str
    app: str  # the supervision Stasis app
    snoop_n: int = 0  # the current snoop's number (0: none made yet)
    snooping: bool = False  # a snoop exists now
    placed: str = ""  # where the phone is: "" (nowhere yet), "own", "call"
    answered: bool = False

    @property
    def key(self) -> str:
        return session_key(self.session_id)

    @property
    def phone(self) -> str:
        return f"{self.key}-sv-phone"

    @property
    def bridge(self) -> str:
        return f"{self.key}-sv-bridge"

    @property
    def snoop(self) -> str:
        return f"{self.key}-sv-snoop{self.snoop_n}"


def answered(s: Session) -> tuple[Session, list[c.Command]]:
    """The phone answered: the session's bridge, the phone in it, then the mode."""
    s = replace(s, answered=True)
    cmds: list[c.Command] = [c.CreateBridge(s.bridge, "mixing", s.bridge)]
    s, more = switch(s, s.mode)
    return s, cmds + more


def switch(s: Session, mode: str) -> tuple[Session, list[c.Command]]:
    """Commands that take an answered session from where it is to ``mode``."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    cmds: list[c.Command] = []
    if s.snooping:  # a snoop's whisper is fixed at creation: a new mode needs a new one
        cmds.append(c.Hangup(s.snoop))
        s = replace(s, snooping=False)
    if mode == "barge":
        if s.placed == "own":
            cmds.append(c.RemoveFromBridge(s.bridge, s.phone))
        cmds.append(c.Unmute(s.phone))
        if s.placed != "call":
            cmds.append(c.AddToBridge(s.call_bridge, (s.phone,)))
        return replace(s, mode=mode, placed="call"), cmds
    # listen and whisper: muted first, so a listener is never heard even for a moment
    cmds.append(c.Mute(s.phone) if mode == "listen" else c.Unmute(s.phone))
    if s.placed == "call":
        cmds.append(c.RemoveFromBridge(s.call_bridge, s.phone))
    if s.placed != "own":
        cmds.append(c.AddToBridge(s.bridge, (s.phone,)))
    s = replace(s, mode=mode, placed="own", snoop_n=s.snoop_n + 1, snooping=True)
    cmds.append(c.Snoop(s.agent_channel, s.snoop, s.app, "both",
                        "out" if mode == "whisper" else None))
    cmds.append(c.AddToBridge(s.bridge, (s.snoop,)))
    return s, cmds


def teardown(s: Session) -> list[c.Command]:
    """Everything of the session, channels first (never the call's own legs or bridge)."""
    cmds: list[c.Command] = []
    if s.snooping:
        cmds.append(c.Hangup(s.snoop))
    cmds.append(c.Hangup(s.phone))
    cmds.append(c.DestroyBridge(s.bridge))
    return cmds
