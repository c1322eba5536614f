"""The ACD's hands on calls: :class:`controlplane.acd.service.Connector` over the call service.

The queue service decides (offer, withdraw, connect, give up); this adapter
turns each decision into an event for the call's machine. Events are posted as
tasks under the call's lock, never awaited inline: the queue service often
decides while the call service is inside that same call's lock, telling it
what just happened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from controlplane.calls import machine

if TYPE_CHECKING:
    from controlplane.calls.service import CallService


# "Thank you. Goodbye." from Asterisk's core sounds: the request is taken, the call ends.
CALLBACK_FAREWELL = "sound:auth-thankyou,sound:vm-goodbye"


class QueueConnector:
    def __init__(self, calls: CallService) -> None:
        self.calls = calls

    async def offer(self, call_id: str, agent_endpoint: str, timeout_s: float) -> None:
        self.calls.post(call_id, machine.OfferAgent(agent_endpoint, f"PJSIP/{agent_endpoint}",
                                                    max(1, round(timeout_s))))

    async def cancel_offer(self, call_id: str, agent_endpoint: str, reason: str) -> None:
        # Only that agent's leg: the other legs of a ring-all offer ring on.
        self.calls.post(call_id, machine.CancelOffer(reason, agent_endpoint))

    async def connect(self, call_id: str, agent_endpoint: str, record: bool) -> None:
        self.calls.post(call_id, machine.Connected(record))

    async def start_moh(self, call_id: str) -> None:
        """The call machine starts hold music when the call is queued."""

    async def stop_moh(self, call_id: str) -> None:
        """The call machine stops hold music when an agent answers or the call leaves."""

    async def announce(self, call_id: str, position: int, ewt_s: float) -> None:
        self.calls.announce(call_id, position, ewt_s)

    async def leave(self, call_id: str, outcome: str, destination: str | None) -> None:
        if destination is not None and destination.startswith("callback:"):
            # The request is stored before the caller hears it confirmed.
            await self.calls.store_queue_callback(call_id, destination.removeprefix("callback:"))
            self.calls.post(call_id, machine.LeaveQueue(outcome, CALLBACK_FAREWELL))
            return
        self.calls.post(call_id, machine.LeaveQueue(outcome))
