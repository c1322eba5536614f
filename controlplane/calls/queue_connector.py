"""The ACD's hands on calls: :class:`controlplane.acd.publisher.Connector` over the call service.

The queue service decides (offer, withdraw, connect, give up) and sends each decision as a
frozen order (:mod:`controlplane.acd.outputs`); this adapter dispatches on the order's type
and turns it into an event for the call's machine:

    RingAgent        → machine.OfferAgent
    WithdrawOffer    → machine.CancelOffer (only that agent's leg)
    ConnectAgent     → machine.Connected
    AnnouncePosition → CallService.announce
    LeaveQueue       → machine.LeaveQueue
    LeaveForCallback → store the callback request, then machine.LeaveQueue with a farewell

Events are posted as tasks under the call's lock, never awaited inline: the queue service
often decides while the call service is inside that same call's lock, telling it what just
happened. Hold music is the call machine's alone (it starts it when the call is queued).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, assert_never

from controlplane.acd import outputs as acd
from controlplane.calls import machine

if TYPE_CHECKING:
    from controlplane.calls.service import CallService


# "Thank you. Goodbye." from Asterisk's core sounds: the request is taken, the call ends.
CALLBACK_FAREWELL = "sound:auth-thankyou,sound:vm-goodbye"


class QueueConnector:
    def __init__(self, calls: CallService) -> None:
        self.calls = calls

    async def send(self, order: acd.CallOrder) -> None:
        """Carry out one order of the ACD."""
        match order:
            case acd.RingAgent(call_id, endpoint, timeout_s):
                self.calls.post(call_id, machine.OfferAgent(endpoint, f"PJSIP/{endpoint}",
                                                            max(1, round(timeout_s))))
            case acd.WithdrawOffer(call_id, endpoint, reason):
                # Only that agent's leg: the other legs of a ring-all offer ring on.
                self.calls.post(call_id, machine.CancelOffer(reason, endpoint))
            case acd.ConnectAgent(call_id, _, record):
                self.calls.post(call_id, machine.Connected(record))
            case acd.AnnouncePosition(call_id, position, ewt_s):
                self.calls.announce(call_id, position, ewt_s)
            case acd.LeaveQueue(call_id, outcome):
                self.calls.post(call_id, machine.LeaveQueue(outcome))
            case acd.LeaveForCallback(call_id, queue_name):
                # The request is stored before the caller hears it confirmed.
                await self.calls.store_queue_callback(call_id, queue_name)
                self.calls.post(call_id, machine.LeaveQueue("callback_requested",
                                                            CALLBACK_FAREWELL))
            case _:
                assert_never(order)
