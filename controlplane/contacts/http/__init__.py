"""The contacts room in the panel: pages (:mod:`.pages`) and ``/api/v1/contacts``
(:mod:`.api`), sharing the operations of :mod:`.common`. Admins and supervisors of the
tenant only (agents get the contact card in a later issue).

Like every ``controlplane.<domain>.http`` it imports no daemon code (the
``web-not-daemon`` import contract); ``web.create_app`` registers :data:`BLUEPRINTS`.
"""

from __future__ import annotations

from flask import Blueprint

from controlplane.contacts.http import api, pages

BLUEPRINTS: tuple[Blueprint, ...] = (pages.bp, api.bp)
