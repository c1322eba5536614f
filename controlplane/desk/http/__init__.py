"""The desk's room in the panel: tickets' pages (:mod:`.pages`), their ``/api/v1``
(:mod:`.api`), the tenant's categories, templates and the user's saved views
(:mod:`.catalog`), the setup page (:mod:`.admin_pages`), business rules
(:mod:`.rules`), the agent's side of tickets routed by the ACD (:mod:`.routing`); shared
operations in :mod:`.common`.

Like every ``controlplane.<domain>.http`` it imports no daemon code (the
``web-not-daemon`` import contract); ``web.create_app`` registers :data:`BLUEPRINTS`.
"""

from __future__ import annotations

from flask import Blueprint

from controlplane.desk.http import admin_pages, api, catalog, pages, routing, rules

BLUEPRINTS: tuple[Blueprint, ...] = (pages.bp, api.bp, catalog.bp, admin_pages.bp, rules.bp,
                                     routing.bp)
