"""The chat room in the panel.

* :mod:`.visitor` -- ``/chat/widget.js`` and the website visitor's API (``/chat/api/...``:
  no login, CORS for the widget's websites, rate-limited) with its SSE stream;
* :mod:`.admin` -- ``/admin/chat`` (widgets, canned responses) and their ``/api/v1``;
* :mod:`.console` -- the agent console ``/agent/chats``, the agent's actions and messages
  (``/api/v1/chat/chats/...``), the supervisors' watch;
* :mod:`.agent_stream` -- the console's SSE stream.

Like every ``controlplane.<domain>.http`` it talks to the daemon only through
:mod:`controlplane.bus` and imports no asyncio service.
"""

from __future__ import annotations

from flask import Blueprint

from controlplane.chat.http import admin, agent_stream, console, visitor

BLUEPRINTS: tuple[Blueprint, ...] = (visitor.bp, admin.bp, console.bp, agent_stream.bp)
