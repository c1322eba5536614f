"""Campaigns' room in the panel: their Flask blueprints, pages and ``/api/v1`` together.

* :mod:`.pages` -- the agent's preview batch and dispositions, the supervisors' campaign
  list, start/pause and the attempts log (blueprint ``campaigns``); it holds the
  operations the API shares.
* :mod:`.api` -- the same operations as JSON under ``/api/v1`` (blueprint ``campaigns_api``).
* :mod:`.setup` -- creating, editing and deleting (archiving) campaigns, page and API
  (blueprint ``campaign_setup``).
* :mod:`.imports` -- contact imports (CSV upload, progress, rejected rows; blueprint
  ``imports``), registered by :func:`.imports.install` with its own upload size limit.
* :mod:`.blacklist`, :mod:`.caller_ids`, :mod:`.recontacts` -- the dial lists, page and API.

Like every ``controlplane.<domain>.http``, it reads the domain's tables and talks to the
daemon only through :mod:`controlplane.bus`; it imports no asyncio service (the
``web-not-daemon`` import contract). ``web.create_app`` registers :data:`BLUEPRINTS`
and calls :func:`.imports.install`.
"""

from __future__ import annotations

from flask import Blueprint

from controlplane.campaigns.http import api, imports, pages, setup
from controlplane.campaigns.http import blacklist as blacklist_http  # blacklists (/blacklist)
from controlplane.campaigns.http import caller_ids as caller_ids_http  # the caller-ID pool
from controlplane.campaigns.http import recontacts as recontacts_http  # scheduled call-backs

BLUEPRINTS: tuple[Blueprint, ...] = (pages.bp, api.bp, setup.bp)
BLUEPRINTS += (blacklist_http.bp,)
BLUEPRINTS += (caller_ids_http.bp,)
BLUEPRINTS += (recontacts_http.bp,)

__all__ = ["BLUEPRINTS", "imports"]
