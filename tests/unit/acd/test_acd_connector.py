"""The ACD's orders reach the call machine as typed events (``calls/queue_connector.py``):
one table from each order of ``acd/outputs.py`` to what the call service receives."""

from __future__ import annotations

from typing import Any, cast

import pytest

from controlplane.acd import outputs as o
from controlplane.acd.queues import Destination, DestinationKind
from controlplane.calls import machine as m
from controlplane.calls.queue_connector import CALLBACK_FAREWELL, QueueConnector


class FakeCalls:
    """The call service's side of the seam, recording what it is asked."""

    def __init__(self) -> None:
        self.got: list[tuple[Any, ...]] = []

    def post(self, call_id: str, event: object) -> None:
        self.got.append(("post", call_id, event))

    def announce(self, call_id: str, position: int, ewt_s: float) -> None:
        self.got.append(("announce", call_id, position, ewt_s))

    async def store_queue_callback(self, call_id: str, queue_name: str) -> None:
        self.got.append(("callback", call_id, queue_name))


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        (o.RingAgent("c1", "demo-1001", 19.6),
         [("post", "c1", m.OfferAgent("demo-1001", "PJSIP/demo-1001", 20))]),
        (o.RingAgent("c1", "demo-1001", 0.2),  # never a zero ring timeout
         [("post", "c1", m.OfferAgent("demo-1001", "PJSIP/demo-1001", 1))]),
        (o.WithdrawOffer("c1", "demo-1002", "answered_elsewhere"),
         [("post", "c1", m.CancelOffer("answered_elsewhere", "demo-1002"))]),
        (o.ConnectAgent("c1", "demo-1001", True), [("post", "c1", m.Connected(True))]),
        (o.AnnouncePosition("c1", 3, 90.0), [("announce", "c1", 3, 90.0)]),
        (o.LeaveQueue("c1", "max_wait", Destination(DestinationKind.HANGUP)),
         [("post", "c1", m.LeaveQueue("max_wait"))]),
        (o.LeaveForCallback("c1", "sales"),  # stored before the caller hears it confirmed
         [("callback", "c1", "sales"),
          ("post", "c1", m.LeaveQueue("callback_requested", CALLBACK_FAREWELL))]),
    ],
)
async def test_each_order_becomes_its_call_event(order: o.CallOrder, expected: list[Any]) -> None:
    calls = FakeCalls()
    await QueueConnector(cast(Any, calls)).send(order)
    assert calls.got == expected


def test_leave_queue_names_its_destination() -> None:
    assert o.LeaveQueue("c1", "no_agents").where is None
    assert o.LeaveQueue("c1", "max_wait", Destination(DestinationKind.HANGUP)).where is None
    dest = Destination(DestinationKind.VOICEMAIL, "vm-sales")
    assert o.LeaveQueue("c1", "max_wait", dest).where == "voicemail:vm-sales"
