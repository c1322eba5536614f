"""The IVR's room in the panel: its Flask blueprint.

* :mod:`.pages` -- flows and their versions, upload with errors in place, publish,
  rollback, DIDs and the flow graph (blueprint ``ivr``).
* :mod:`.api` -- the same flows, versions and changes under ``/api/v1/ivr-flows``
  (blueprint ``ivr_api``); both go through :mod:`controlplane.ivr.changes`.
* :mod:`.prompts` -- the tenant's recorded prompts: page ``/ivr/prompts`` and
  ``/api/v1/prompts`` (upload, listen, delete unless a published flow plays it); registered
  by its ``install`` (own upload size limit), not in :data:`BLUEPRINTS`.
* :mod:`.flow_graph` -- a flow drawn as a layered graph, server-side SVG.
* :mod:`.flow_source` -- a flow's JSON source, pretty-printed with its errors in place.

Like every ``controlplane.<domain>.http``, it reads the domain's tables and talks to the
daemon only through :mod:`controlplane.bus`; it imports no asyncio service (the
``web-not-daemon`` import contract). ``web.create_app`` registers :data:`BLUEPRINTS`.
"""

from __future__ import annotations

from flask import Blueprint

from controlplane.ivr.http import api, pages

BLUEPRINTS: tuple[Blueprint, ...] = (pages.bp, api.bp)
