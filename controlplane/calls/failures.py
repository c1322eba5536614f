"""What a failed ARI command means for a call: "that leg is already gone", or nothing.

The executor reports failures as :class:`AriError` with the HTTP status; this is the one
place where the call service reads them. A call must always reach ENDED, so a failure
that means a leg is gone is fed back to the call machine as :class:`LegGone`:

================  ===============  ==================================================
command           ARI status       meaning
================  ===============  ==================================================
Hangup            404              the leg hung up already: LegGone (estimated end)
Originate         any              the agent leg never existed: LegGone (cause 20)
Answer, Play,     404, 409         the channel or bridge is gone (its own hang-up event
ringing, MOH,                      follows): nothing
DestroyBridge
anything else     any              logged; nothing
================  ===============  ==================================================
"""

from __future__ import annotations

import logging

from controlplane.calls import machine
from controlplane.engine import commands as c
from controlplane.engine.ari_ import AriError

log = logging.getLogger(__name__)

# Commands whose object may vanish at any moment with the call (404/409 is not an error).
_MAY_BE_GONE = (c.DestroyBridge, c.StopRinging, c.Play, c.Answer, c.StartRinging, c.StartMoh,
                c.StopMoh, machine.StartMoh, machine.StopMoh)


def leg_gone(cmd: object, err: AriError) -> machine.LegGone | None:
    """The :class:`LegGone` a failure of ``cmd`` stands for, or None (logged if unexpected)."""
    if isinstance(cmd, c.Hangup) and err.status == 404:
        agent = machine.call_of_agent_channel(cmd.channel_id) is not None
        return machine.LegGone("agent" if agent else "caller", 16, "Normal Clearing",
                               estimated=True, channel=cmd.channel_id if agent else None)
    if isinstance(cmd, c.Originate):
        log.info("originate %s refused: %s", cmd.endpoint, err)
        return machine.LegGone("agent", 20, "Subscriber absent", channel=cmd.channel_id)
    if err.status in (404, 409) and isinstance(cmd, _MAY_BE_GONE):
        return None
    log.warning("command %s failed: %s", type(cmd).__name__, err)
    return None
