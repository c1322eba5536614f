"""Inbound trunk calls: which trunk sent them, and the audit line of a refused one.

Asterisk identifies a trunk's calls by their source address alone (the trunk endpoint
says ``identify_by = ip``); an INVITE from any other address finds no endpoint and is
challenged, so it never reaches the dialplan. The platform's ``[from-trunk]`` context
hands the control plane what the trunk endpoint set and where the request came from::

    Stasis(<app>,inbound,<number>,<CENTRALA_TENANT>,<CENTRALA_TRUNK>,<address:port>)

The number is then looked up among that tenant's DIDs only. One that is not one of them
is refused before anything is answered or played (Q.850 cause 1, "unallocated", which
the carrier receives as 404): no prompt to a stranger, no call record, one
``call.unknown_number`` security event naming the trunk, tenant, number and source.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from controlplane.db import transaction
from controlplane.security import audit

UNKNOWN_NUMBER = "call.unknown_number"
# ARI hang-up reason for a refused call: Q.850 cause 1, sent to the carrier as 404.
REFUSE_REASON = "unallocated"
# A dialled number longer than this is cut in the audit line (E.164 has at most 15 digits).
MAX_NUMBER = 40


@dataclass(frozen=True)
class TrunkOrigin:
    """The trunk an inbound call arrived on, as the platform's dialplan passed it to Stasis."""

    tenant_id: int | None
    trunk: str
    source: str  # address:port the INVITE came from

    @staticmethod
    def from_args(args: Sequence[str]) -> TrunkOrigin:
        """Parse ``(inbound, number, tenant, trunk, source)``; anything missing is unknown.

        A tenant that is not a number (an endpoint without ``CENTRALA_TENANT``) is None,
        so such a call matches no DID and is refused.
        """
        tenant, trunk, source = (list(args[2:5]) + ["", "", ""])[:3]
        return TrunkOrigin(int(tenant) if tenant.isdigit() else None, trunk, source)


def record_unknown_number(factory: sessionmaker[Session], origin: TrunkOrigin, number: str,
                          caller: str, call_id: str) -> None:
    """Write the audit line of a trunk call refused because ``number`` is not its tenant's.

    ``call_id`` is the refused channel's id: Asterisk's hang-up log (CEL) has it too.
    """
    with transaction(factory) as s:
        audit.record(s, UNKNOWN_NUMBER, severity="warning", tenant_id=origin.tenant_id,
                     actor=origin.trunk, source=origin.source,
                     detail={"number": number[:MAX_NUMBER], "caller": caller[:MAX_NUMBER],
                             "trunk": origin.trunk, "call_id": call_id})
