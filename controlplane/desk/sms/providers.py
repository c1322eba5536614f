"""SMS providers: send a text, and read (and verify) what the provider posts to us.

Theory of operation: a provider is anything with :meth:`Provider.send` (returns the
provider's message id), :meth:`Provider.verify` (is an inbound post really the
provider's, and recent?) and :meth:`Provider.parse` (the post as an :class:`InboundSms`
or a :class:`StatusReport`). :func:`build` makes one from an account's kind and its
decrypted secrets; :data:`KINDS` lists the kinds there are.

The one real provider here, :class:`HttpProvider` (kind ``http``), speaks the generic
wire format of ``docs/sms.md`` (the lab gateway, ``tests/smslab.py``, speaks it too):

* **outbound**: ``POST <api_url>`` with ``Authorization: Bearer <api key>`` and JSON
  ``{"to", "from", "text", "reference"}``; a 2xx answer's JSON carries ``{"id"}``. The URL
  is checked like a webhook's target (public addresses only unless
  ``CENTRALA_WEBHOOKS_ALLOW_PRIVATE``; the connection goes to the address checked, no
  redirects: :mod:`controlplane.webhooks.transport`).
* **inbound** (to ``/sms/inbound/<account public id>``): JSON ``{"type": "sms", "id",
  "from", "to", "text", "received_at"}`` or ``{"type": "status", "id", "status", "at"}``,
  signed like our webhooks: ``Centrala-Timestamp`` (Unix seconds) and
  ``Centrala-Signature: v1=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>``; a post more
  than :data:`REPLAY_WINDOW_S` away from our clock is refused (a replay inside the window
  is a duplicate id: threading is idempotent).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import phonenumbers

from controlplane.desk.sms.exceptions import BadInbound, ProviderFailed
from controlplane.webhooks import events as signing
from controlplane.webhooks.exceptions import InvalidTarget
from controlplane.webhooks.transport import post, resolve_target

KINDS = ("http",)
REPLAY_WINDOW_S = 300
TIMEOUT_S = 10.0
TEXT_MAX = 5000  # ~30 concatenated segments: more is not an SMS
ID_MAX = 200
STATUSES = ("accepted", "sent", "delivered", "failed", "expired", "rejected")
TIMESTAMP_HEADER = signing.TIMESTAMP_HEADER
SIGNATURE_HEADER = signing.SIGNATURE_HEADER


@dataclass(frozen=True)
class InboundSms:
    sender: str  # E.164 when it is a number; an alphanumeric sender as sent
    recipient: str
    text: str
    provider_id: str
    received_at: datetime

    @property
    def from_number(self) -> bool:
        """Whether one can answer it (an alphanumeric sender cannot be replied to)."""
        return self.sender.startswith("+")


@dataclass(frozen=True)
class StatusReport:
    provider_id: str
    status: str
    at: datetime


class Provider(Protocol):
    kind: str

    def send(self, to: str, text: str, sender_id: str, reference: str = "") -> str: ...

    def verify(self, headers: Mapping[str, str], body: bytes, now: float) -> bool: ...

    def parse(self, body: bytes, now: datetime) -> InboundSms | StatusReport: ...


def number(raw: str) -> str:
    """``raw`` as E.164 when it reads as an international number ("0048…" too), else
    ``raw`` trimmed (an alphanumeric sender such as a shop's name)."""
    text = raw.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    if text.startswith("+"):
        try:
            parsed = phonenumbers.parse(text, None)
        except phonenumbers.NumberParseException:
            return text
        if phonenumbers.is_possible_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return text


def _text(data: Mapping[str, Any], name: str, top: int, *, required: bool = True) -> str:
    value = data.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise BadInbound(name, "a string is required")
    if required and not value.strip():
        raise BadInbound(name, "must not be empty")
    if len(value) > top:
        raise BadInbound(name, f"at most {top} characters")
    return value


def _when(data: Mapping[str, Any], name: str, now: datetime) -> datetime:
    raw = data.get(name)
    if raw is None:
        return now
    if not isinstance(raw, str):
        raise BadInbound(name, "an ISO 8601 time is required")
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        raise BadInbound(name, "an ISO 8601 time is required, e.g. "
                               "2026-12-04T12:00:00+00:00") from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


class HttpProvider:
    """The generic HTTP provider (see the module's docstring for its wire format)."""

    kind = "http"

    def __init__(self, api_url: str, api_key: str, inbound_secret: str, *,
                 allow_private: bool = False, timeout_s: float = TIMEOUT_S) -> None:
        self.api_url = api_url
        self._api_key = api_key
        self._secret = inbound_secret
        self.allow_private = allow_private
        self.timeout_s = timeout_s

    def __repr__(self) -> str:  # never the key or the secret
        return f"HttpProvider({self.api_url!r})"

    def send(self, to: str, text: str, sender_id: str, reference: str = "") -> str:
        """Post one SMS; the provider's id for it. :class:`ProviderFailed` says why not."""
        if not self.api_url:
            raise ProviderFailed("the SMS account has no API URL")
        body = json.dumps({"to": to, "from": sender_id, "text": text,
                           "reference": reference}).encode()
        try:
            target = resolve_target(self.api_url, self.allow_private)
        except InvalidTarget as err:
            raise ProviderFailed(f"the API URL is refused: {err.message}") from None
        answer = post(target, body, {"Content-Type": "application/json",
                                     "Authorization": f"Bearer {self._api_key}",
                                     "User-Agent": "Centrala-SMS/1"}, self.timeout_s)
        if not answer.ok:
            raise ProviderFailed(f"the provider answered {answer.status or answer.error}: "
                                 f"{answer.excerpt[:200]}")
        try:
            found = json.loads(answer.excerpt).get("id")
        except (ValueError, AttributeError):
            found = None
        if not isinstance(found, str | int) or not str(found):
            raise ProviderFailed("the provider's answer carries no message id")
        return str(found)[:ID_MAX]

    def verify(self, headers: Mapping[str, str], body: bytes, now: float) -> bool:
        signature = headers.get(SIGNATURE_HEADER) or ""
        timestamp = headers.get(TIMESTAMP_HEADER) or ""
        if not self._secret or not signature or not timestamp:
            return False
        return signing.verify(self._secret, signature, timestamp, body, now,
                              tolerance_s=REPLAY_WINDOW_S)

    def parse(self, body: bytes, now: datetime) -> InboundSms | StatusReport:
        try:
            data = json.loads(body)
        except ValueError:
            raise BadInbound("body", "not JSON") from None
        if not isinstance(data, dict):
            raise BadInbound("body", "a JSON object is required")
        kind = data.get("type", "sms")
        if kind == "status":
            status = _text(data, "status", 20)
            if status not in STATUSES:
                raise BadInbound("status", f"one of {', '.join(STATUSES)}")
            return StatusReport(_text(data, "id", ID_MAX), status, _when(data, "at", now))
        if kind != "sms":
            raise BadInbound("type", "'sms' or 'status'")
        return InboundSms(sender=number(_text(data, "from", 32)),
                          recipient=number(_text(data, "to", 32, required=False)),
                          text=_text(data, "text", TEXT_MAX, required=False),
                          provider_id=_text(data, "id", ID_MAX),
                          received_at=_when(data, "received_at", now))


def build(kind: str, api_url: str, api_key: str, inbound_secret: str, *,
          allow_private: bool = False) -> Provider:
    """The provider of ``kind`` with these (decrypted) settings."""
    if kind == "http":
        return HttpProvider(api_url, api_key, inbound_secret, allow_private=allow_private)
    raise ValueError(f"unknown SMS provider kind {kind!r}")
