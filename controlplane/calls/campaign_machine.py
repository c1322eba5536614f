"""The campaign-call machine, by the import path the rest of the platform uses.

It lives in :mod:`controlplane.calls.machines.campaign` (read that module's docstring).
"""

from __future__ import annotations

from controlplane.calls.machines.campaign import (
    COMMANDS,
    CONNECT_LIMIT_S,
    RING_PAD_S,
    STARTS,
    TRANSITIONS,
    WITHDRAW_MARGIN_S,
    AmdDecided,
    ArmDeadline,
    CampaignEntered,
    CampaignEvent,
    CampaignOut,
    CampaignPlan,
    CustomerAnswered,
    DialCustomer,
    Out,
    RunAmd,
    start,
    step,
)

__all__ = [
    "COMMANDS", "CONNECT_LIMIT_S", "RING_PAD_S", "STARTS", "TRANSITIONS", "WITHDRAW_MARGIN_S",
    "AmdDecided", "ArmDeadline", "CampaignEntered", "CampaignEvent", "CampaignOut",
    "CampaignPlan", "CustomerAnswered", "DialCustomer", "Out", "RunAmd", "start", "step",
]
