"""The commands of each supervision step, and which Asterisk objects are a session's."""

from __future__ import annotations

import pytest

from controlplane.engine import commands as c
from controlplane.supervision import plan
from controlplane.supervision.orphans import orphans


def session(mode: str = "listen") -> plan.Session:
    return plan.Session(7, 1, "call-1", "call-1-agent", "call-1-bridge", mode, "centrala-sv")


def test_listen_mutes_the_supervisor_before_a_spy_only_snoop_joins_their_bridge() -> None:
    s, cmds = plan.answered(session("listen"))
    assert cmds == [
        c.CreateBridge("sv7-sv-bridge", "mixing", "sv7-sv-bridge"),
        c.Mute("sv7-sv-phone"),
        c.AddToBridge("sv7-sv-bridge", ("sv7-sv-phone",)),
        c.Snoop("call-1-agent", "sv7-sv-snoop1", "centrala-sv", "both", None),
        c.AddToBridge("sv7-sv-bridge", ("sv7-sv-snoop1",)),
    ]
    assert s.answered and s.snooping and s.placed == "own"


def test_whisper_replaces_the_snoop_without_redialling() -> None:
    s, _ = plan.answered(session("listen"))
    s, cmds = plan.switch(s, "whisper")
    assert cmds == [
        c.Hangup("sv7-sv-snoop1"),
        c.Unmute("sv7-sv-phone"),
        c.Snoop("call-1-agent", "sv7-sv-snoop2", "centrala-sv", "both", "out"),
        c.AddToBridge("sv7-sv-bridge", ("sv7-sv-snoop2",)),
    ]
    assert not any(isinstance(x, c.Originate | c.Hangup) and x.channel_id == s.phone
                   for x in cmds)


def test_barge_moves_the_phone_into_the_call_and_back() -> None:
    s, _ = plan.answered(session("whisper"))
    s, cmds = plan.switch(s, "barge")
    assert cmds == [c.Hangup("sv7-sv-snoop1"), c.RemoveFromBridge("sv7-sv-bridge", "sv7-sv-phone"),
                    c.Unmute("sv7-sv-phone"), c.AddToBridge("call-1-bridge", ("sv7-sv-phone",))]
    assert s.placed == "call" and not s.snooping
    s, cmds = plan.switch(s, "listen")
    assert cmds[:3] == [c.Mute("sv7-sv-phone"), c.RemoveFromBridge("call-1-bridge", "sv7-sv-phone"),
                        c.AddToBridge("sv7-sv-bridge", ("sv7-sv-phone",))]
    assert cmds[3] == c.Snoop("call-1-agent", "sv7-sv-snoop2", "centrala-sv", "both", None)


def test_teardown_removes_only_the_sessions_objects() -> None:
    s, _ = plan.answered(session("listen"))
    cmds = plan.teardown(s)
    assert cmds == [c.Hangup("sv7-sv-snoop1"), c.Hangup("sv7-sv-phone"),
                    c.DestroyBridge("sv7-sv-bridge")]
    s, _ = plan.switch(s, "barge")  # in the call's bridge: the call's bridge stays
    assert plan.teardown(s) == [c.Hangup("sv7-sv-phone"), c.DestroyBridge("sv7-sv-bridge")]


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="mode"):
        plan.switch(session(), "shout")


def test_orphans_are_the_objects_of_sessions_not_live_here() -> None:
    assert plan.owner_of("sv12-sv-snoop3") == "sv12"
    assert plan.owner_of("sv12-sv-phone") == "sv12" and plan.owner_of("sv12-sv-bridge") == "sv12"
    for other in ("sv12", "call-1-agent", "call-1-bridge", "x-amd-snoop", "sv12-sv-other"):
        assert plan.owner_of(other) is None
    channels = ["sv1-sv-phone", "sv1-sv-snoop2", "sv2-sv-phone", "sv2-sv-snoop1", "call-1",
                "call-1-agent"]
    bridges = ["sv1-sv-bridge", "sv2-sv-bridge", "call-1-bridge"]
    assert orphans(channels, bridges, {"sv1"}) == (["sv2-sv-phone", "sv2-sv-snoop1"],
                                                   ["sv2-sv-bridge"])
