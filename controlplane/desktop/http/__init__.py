"""The agent desktop's room in the panel: ``/api/v1`` and the SSE stream of the current
interaction card, wrap-ups, the tenant's call dispositions and screen-pop settings.

* :mod:`.api` -- the JSON API (blueprint ``desktop``);
* :mod:`.stream` -- the card over server-sent events (``/agent/interaction/stream``);
* :mod:`.settings` -- the admin's page (screen pop, dispositions).

It imports no daemon module (the ``web-not-daemon`` contract): it reads Redis and the
database only.
"""

from __future__ import annotations

from flask import Blueprint

from controlplane.desktop.http import api, settings, stream

BLUEPRINTS: tuple[Blueprint, ...] = (api.bp, stream.bp, settings.bp)
