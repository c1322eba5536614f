"""The ACD's room in the panel: its Flask blueprints, pages and ``/api/v1`` together.

* :mod:`.queues` -- queue configuration, break reasons and the wallboard (blueprint ``queues``).
* :mod:`.agents` -- an agent's own status and the supervisors' agent board (``agents``).
* :mod:`.webphone` -- the agent's browser webphone configuration (``webphone``).
* :mod:`.queue_form` -- validation and writes of the queue and break-reason forms.
* :mod:`.wallboard` -- the live wallboard of the day, pages, API and SSE (``wallboard``).
* :mod:`.wallboard_alerts` -- alert rules: fired once per crossing, admin page and API.
* :mod:`.channels` -- chats per agent, calls next to chats, the chat offer timeout.
* :mod:`.board` -- the live read models (wallboard, agent rows) from the ACD's Redis mirror.

Like every ``controlplane.<domain>.http``, it reads the domain's tables and talks to the
daemon only through :mod:`controlplane.bus`; it imports no asyncio service (the
``web-not-daemon`` import contract). ``web.create_app`` registers :data:`BLUEPRINTS`.
"""

from __future__ import annotations

from flask import Blueprint

from controlplane.acd.http import agents, channels, queues, wallboard, wallboard_alerts, webphone

BLUEPRINTS: tuple[Blueprint, ...] = (
    agents.bp, queues.bp, webphone.bp, wallboard.bp, wallboard_alerts.bp, channels.bp)
