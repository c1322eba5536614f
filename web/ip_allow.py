"""The hook every way into the panel calls: may this address act for this tenant?

``ip_allowed(tenant_id, address)`` reads the tenant's allow-list
(:mod:`controlplane.security.access_store`) and answers with
:func:`controlplane.security.ip_allow_list.allows`: an empty list allows everyone. The
session path (:func:`web.auth.login_required`) calls it on every request, the login on
every login; bearer tokens (the API) call it too.
"""

from __future__ import annotations

from flask_babel import gettext

from controlplane.security import access_store
from web.services import services


def ip_allowed(tenant_id: int, address: str) -> bool:
    with services().sessions() as s:
        return access_store.policy(s, tenant_id).allows(address)


def refusal(address: str) -> str:
    """What a person is told when their address is not on the list."""
    return gettext("Your address %(address)s is not on this tenant's IP allow-list; ask "
                   "your administrator to add it.", address=address)
