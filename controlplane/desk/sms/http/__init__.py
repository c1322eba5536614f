"""The SMS channel in the panel: the admin page and API, and the gateway's webhook.

* :mod:`.settings` -- ``/admin/sms`` and ``/api/v1/sms/...`` (admins): the account, its
  inbound secret, auto-reply and templates (blueprint ``admin_sms``).
* :mod:`.inbound` -- ``POST /sms/inbound/<public id>``: no login, signed by the gateway,
  rate-limited; an SMS into a ticket or a delivery report (blueprint ``sms_inbound``).

Like every ``controlplane.<domain>.http``, it imports no daemon service.
"""

from __future__ import annotations

from flask import Blueprint

from controlplane.desk.sms.http import inbound, settings

BLUEPRINTS: tuple[Blueprint, ...] = (settings.bp, inbound.bp)
