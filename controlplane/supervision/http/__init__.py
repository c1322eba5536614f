"""Supervision's room in the panel: the API (``/api/v1/supervision``) and the buttons of
the live calls page and the agents board (:mod:`.views`). It talks to the daemon only
through :func:`controlplane.bus.send_supervision` (the ``web-not-daemon`` contract)."""

from __future__ import annotations

from flask import Blueprint

from controlplane.supervision.http import views

BLUEPRINTS: tuple[Blueprint, ...] = (views.bp,)
