"""AMI security events → :class:`~controlplane.security.bans.AuthFailure` (pure parsing).

Asterisk 22's res_pjsip reports authentication through the security event framework
(AMI class ``security``). Measured here with svcrack against the platform:

* a wrong password for a real account: ``ChallengeResponseFailed`` (``AccountID`` = the
  account) once per attempt, after one ``ChallengeSent`` for the dialog;
* an unknown account: ``InvalidAccountID`` for *every* request (the first, unauthenticated
  one too), and for each attempt that carries credentials also a ``ChallengeResponseFailed``
  with ``AccountID: <unknown>``, which is skipped here so an attempt counts once;
* ``FailedACL`` when an endpoint's own ACL refuses a request; the global ACL our bans use
  (res_pjsip_acl) answers 403 and raises no event at all.

``ChallengeSent`` and ``SuccessfulAuth`` are normal traffic. ``InvalidPassword`` is also
what a failed AMI login raises: only events whose ``Service`` is PJSIP are taken (the bans
are enforced by the PJSIP ACL; AMI listens on loopback only). The events also carry the
digest ``Response``/``ExpectedResponse``; those never leave this function.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from controlplane.security.bans import AuthFailure

FAILURES = frozenset({"ChallengeResponseFailed", "InvalidAccountID", "InvalidPassword",
                      "FailedACL"})
UNKNOWN_ACCOUNT = "<unknown>"


def remote_address(value: str) -> str | None:
    """``IPV4/UDP/127.0.0.5/5062`` or ``IPV6/TCP/[2001:db8::1]/5060`` → the address."""
    parts = value.split("/")
    if len(parts) < 4 or not parts[0].upper().startswith("IPV"):
        return None
    host = "/".join(parts[2:-1]).strip("[]")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def parse(message: Mapping[str, str]) -> AuthFailure | None:
    """The authentication failure an AMI message reports, or None for anything else."""
    kind = message.get("Event", "")
    if kind not in FAILURES or message.get("Service", "").upper() != "PJSIP":
        return None
    account = message.get("AccountID", "")
    if kind == "ChallengeResponseFailed" and account == UNKNOWN_ACCOUNT:
        return None  # the same attempt's InvalidAccountID already counted it
    address = remote_address(message.get("RemoteAddress", ""))
    if address is None:
        return None
    return AuthFailure(address, kind, account[:80] if account != UNKNOWN_ACCOUNT else "")
