"""The tenants room in the panel: its blueprints, pages and ``/api/v1`` together.

* :mod:`.links` -- the activation and password-reset link pages and "Forgot password?"
  (public: the people using them are not logged in).
* :mod:`.operator` -- the platform operator's tenants pages, ``/api/v1/tenants`` and the
  local catcher's mail.
* :mod:`.settings` -- a tenant administrator's own tenant settings.

Imports no daemon code (the ``web-not-daemon`` contract): mail leaves through jobs the
outbox holds (:mod:`controlplane.tenants.store`).
"""

from __future__ import annotations

from flask import Blueprint

from controlplane.tenants.http import links, operator, settings

BLUEPRINTS: tuple[Blueprint, ...] = (links.bp, operator.bp, settings.bp)
