"""Calls' room in the panel: their Flask blueprints, pages and ``/api/v1`` together.

* :mod:`.pages` -- live calls (with their event stream), call records and recording
  downloads (blueprint ``calls``).
* :mod:`.api` -- live calls and call records as JSON under ``/api/v1`` (blueprint ``api``);
  :mod:`.transfers` -- blind and attended transfers on the same blueprint.
* :mod:`.recordings` -- recordings under ``/api/v1/recordings``: list, metadata, audio
  (blueprint ``recordings_api``), with the records' scope.
* :mod:`.recordings_pages` -- the recordings app's page (blueprint ``recordings``); its
  search is :mod:`.recordings_search`; tags, deletion and retention :mod:`.recordings_manage`; the copy
  to the tenant's SFTP server :mod:`.recordings_sftp`.
* :mod:`.records` -- the call-records query: filter, scope (own endpoints), pages.
* :mod:`.live` -- live calls and their event stream, read from the daemon's Redis mirror.

Like every ``controlplane.<domain>.http``, it reads the domain's tables and talks to the
daemon only through :mod:`controlplane.bus`; it imports no asyncio service (the
``web-not-daemon`` import contract). ``web.create_app`` registers :data:`BLUEPRINTS`.
"""

from __future__ import annotations

from flask import Blueprint

from controlplane.calls.http import (
    api,
    pages,
    recordings,
    recordings_export,
    recordings_manage,
    recordings_pages,
    recordings_sftp,
    transfers,  # noqa: F401  (its routes are on api.bp)
)

BLUEPRINTS: tuple[Blueprint, ...] = (pages.bp, api.bp, recordings.bp, recordings_pages.bp,
                                     recordings_manage.bp, recordings_export.bp,
                                     recordings_sftp.bp)
