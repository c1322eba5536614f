"""What a failed ARI command means for a call (controlplane/calls/failures.py)."""

from __future__ import annotations

from controlplane.calls import machine
from controlplane.calls.failures import leg_gone
from controlplane.engine import commands as c
from controlplane.engine.ari_ import AriError


def err(status: int) -> AriError:
    return AriError("X", "/p", status, "")


def test_a_hangup_of_a_leg_already_gone_ends_that_leg() -> None:
    assert leg_gone(c.Hangup("1.1"), err(404)) == machine.LegGone(
        "caller", 16, "Normal Clearing", estimated=True)
    assert leg_gone(c.Hangup("1.1-agent2"), err(404)) == machine.LegGone(
        "agent", 16, "Normal Clearing", estimated=True, channel="1.1-agent2")
    assert leg_gone(c.Hangup("1.1"), err(500)) is None  # not proof of anything: logged


def test_a_refused_originate_is_an_agent_leg_that_never_was() -> None:
    cmd = c.Originate("1.1-agent", "PJSIP/demo-1001", "agent,1.1", "600", 30)
    for status in (0, 400, 500):
        assert leg_gone(cmd, err(status)) == machine.LegGone(
            "agent", 20, "Subscriber absent", channel="1.1-agent")


def test_objects_that_vanish_with_the_call_are_no_news() -> None:
    for cmd in (c.Play("1.1", "sound:x", "1.1-prompt"), c.StopMoh("1.1"), c.DestroyBridge("b"),
                machine.StartMoh("1.1")):
        assert leg_gone(cmd, err(404)) is None
        assert leg_gone(cmd, err(409)) is None
