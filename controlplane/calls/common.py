"""Small things every part of the call service uses."""

from __future__ import annotations

from datetime import UTC, datetime

# Q.850 causes seen on a contact center's calls (ARI sends only the number with StasisEnd).
CAUSES = {
    1: "Unallocated (unassigned) number",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    21: "Call Rejected",
    20: "Subscriber absent",
    27: "Destination out of order",
    32: "Normal circuit congestion",
    34: "Circuit/channel congestion",
    38: "Network out of order",
    127: "Interworking, unspecified",
}


def now() -> datetime:
    return datetime.now(UTC)
