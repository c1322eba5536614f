"""The admin room in the panel: phones, DIDs and agent skills, pages and ``/api/v1`` together.

* :mod:`.phones` -- phones: list, create, edit, delete, credentials shown on demand (audited),
  regenerated, QR code, live registration state (blueprint ``admin_phones``).
* :mod:`.dids` -- DIDs routed to exactly one phone or IVR flow (``admin_dids``).
* :mod:`.skills` -- skills and agents' skills (``admin_skills``).
* :mod:`.trunks` -- carriers' trunks, identified by address (``admin_trunks``).
* :mod:`.routes` -- outbound routes: which trunk a dialled number leaves by (``admin_routes``).
* :mod:`.webphones` -- whether agents get browser webphones, and theirs (``admin_webphones``).
* :mod:`.common` -- what they share: the write path (validate, check the rendered
  configuration, commit, apply, tell the ACD), list parameters, audit.

Like every ``controlplane.<domain>.http``, it talks to the daemon only through
:mod:`controlplane.bus` and imports no asyncio service. Admins only, tenant-scoped.
"""

from __future__ import annotations

from flask import Blueprint

from controlplane.admin.http import dids, phones, routes, skills, trunks, webphones

BLUEPRINTS: tuple[Blueprint, ...] = (phones.bp, dids.bp, skills.bp, trunks.bp, routes.bp,
                                     webphones.bp)
