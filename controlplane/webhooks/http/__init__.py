"""The webhooks' room in the panel: its pages (:mod:`.pages`, admins) and
``/api/v1/webhooks`` (:mod:`.api`), on one blueprint, over :mod:`.subscriptions` (the
reads and writes both share). ``web.create_app`` registers :data:`BLUEPRINTS`."""

from __future__ import annotations

from flask import Blueprint

from controlplane.webhooks.http import api, pages  # noqa: F401 - routes register on bp
from controlplane.webhooks.http.subscriptions import bp

BLUEPRINTS: tuple[Blueprint, ...] = (bp,)
