"""The gateway's webhook: ``POST /sms/inbound/<account public id>`` (wire format:
``docs/sms.md``; :mod:`controlplane.desk.sms.providers`).

Theory of operation: no login and no CSRF token (a machine posts, with no cookie:
:func:`web.auth.signed_post`); instead, in this order and as cheaply as possible: at most
:data:`PER_MINUTE` posts per client address and minute (one Redis ``INCR``; 429 past it;
Redis down: not counted), a bounded body (:data:`BODY_MAX`, 413), an active account at
that public id (404), a valid signature with a timestamp inside the replay window (401),
then the documented shape (400 naming the field). The SMS is threaded into a ticket in
one transaction with the auto-reply's job (:func:`controlplane.desk.sms.service.receive`)
and the answer is 200 at once: nothing here waits for a provider. A post sent twice (a
gateway's retry, a replay inside the window) is a duplicate and changes nothing. Errors
are JSON in the panel's error shape, for a machine reads them.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from flask import Blueprint, Response, current_app, jsonify, request

from controlplane import bus
from controlplane.db import transaction
from controlplane.desk.sms import providers, service, store
from controlplane.desk.sms.exceptions import BadSignature, TooManyRequests
from controlplane.desk.sms.providers import InboundSms
from controlplane.errors import CentralaError
from controlplane.models.base import utcnow
from web.auth import client_address, public, signed_post
from web.services import services

log = logging.getLogger(__name__)

bp = Blueprint("sms_inbound", __name__)

PER_MINUTE = 600
BODY_MAX = 64 * 1024


@bp.errorhandler(CentralaError)
def _error(err: CentralaError) -> tuple[Response, int]:
    body: dict[str, Any] = {"id": err.error_id, "message": err.message}
    if err.details:
        body["details"] = err.details
    return jsonify({"error": body}), err.status


def _count(address: str) -> None:
    limit = int(current_app.config.get("SMS_INBOUND_PER_MINUTE", PER_MINUTE))
    minute = int(time.time() // 60)
    key = bus.SMS_INBOUND_KEY.format(address=address, minute=minute)
    try:
        pipe = services().redis.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, 120)
        used = int(pipe.execute()[0])
    except redis.RedisError as err:
        log.warning("SMS inbound post not counted (Redis: %s)", type(err).__name__)
        return
    if used > limit:
        raise TooManyRequests(f"more than {limit} posts a minute from {address}")


@bp.post("/sms/inbound/<public_id>")
@public
@signed_post
def receive(public_id: str) -> Any:
    """One inbound SMS or delivery report from the tenant's gateway (signed)."""
    _count(client_address())
    if (request.content_length or 0) > BODY_MAX:
        return jsonify({"error": {"id": "too_large",
                                  "message": f"at most {BODY_MAX} bytes"}}), 413
    body = request.get_data(cache=True)[:BODY_MAX + 1]
    if len(body) > BODY_MAX:
        return jsonify({"error": {"id": "too_large",
                                  "message": f"at most {BODY_MAX} bytes"}}), 413
    svc, now = services(), utcnow()
    with transaction(svc.sessions) as s:
        account = store.account_by_public_id(s, public_id[:64])
        provider = service.provider_of(account, svc.settings.runtime_dir,
                                       svc.settings.webhooks_allow_private)
        signed = {name: request.headers.get(name, "")  # case-insensitive here, exact there
                  for name in (providers.TIMESTAMP_HEADER, providers.SIGNATURE_HEADER)}
        if not provider.verify(signed, body, time.time()):
            raise BadSignature("bad or missing signature, or a timestamp outside the "
                               "replay window")
        parsed = provider.parse(body, now)
        if not isinstance(parsed, InboundSms):
            known = service.apply_status(s, account, parsed)
            return jsonify({"status": parsed.status, "known": known})
        got = service.receive(s, account, parsed, now)
    return jsonify({"ticket": got.ticket_number, "created": got.created,
                    "duplicate": got.duplicate})
