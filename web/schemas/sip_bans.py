"""SIP bans: the address whose ban an administrator lifts.

The same model reads the page's form (``POST /security/sip-bans/lift``) and the
path of ``DELETE /api/v1/sip-bans/<address>``, so both refuse the same way: a
400 ``bad_parameter`` naming ``address``. The address is returned as stored
(:func:`controlplane.security.ban_store.normalise`: ``2001:DB8::1`` → ``2001:db8::1``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from controlplane.security.ban_store import normalise
from web.schemas.common import Form

MAX_ADDRESS_LEN = 64  # the longest IPv6 text with a zone is well under this

Address = Annotated[str, Field(max_length=MAX_ADDRESS_LEN), AfterValidator(normalise)]


class LiftBan(Form):
    """``address``: an IPv4 or IPv6 address."""

    address: Address
