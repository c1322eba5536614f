"""HLR look-ups: is a mobile number live on a network? Behind a provider interface.

Theory of operation. An HLR (home location register) look-up asks the mobile network
whether a number is in service, without ringing it. A provider answers per number
``active`` (dial it), ``inactive`` (not in service: never dial it), ``unknown`` (the
network would not say); ``error`` means there was no answer at all (timeout, HTTP
failure, a malformed reply) and says why in ``detail``. Dialling a dead number wastes a
line and, with predictive pacing, skews the answer-rate estimate.

The policy is pure (no I/O): which numbers are worth a look-up (:func:`should_check`,
mobile only by default), when an earlier answer stored in ``hlr_result`` may be reused
instead of asking again (:func:`cached_status`: a real answer for 30 days, an error for
an hour, so a second run changes nothing), and what a status means for a record
(:func:`action`):

    status      action
    active      dial
    inactive    skip   (the record is closed with last outcome "skipped")
    unknown     dial   (skip when ``skip_uncertain``)
    error       dial   (skip when ``skip_uncertain``)

:class:`HttpHlrProvider` is the one network edge: a JSON POST with a bearer key whose
every failure becomes an ``error`` answer, never an exception. The key is a secret: it
is sent in a header only, never put in a message, a ``repr`` or a log line.
The job that reads and writes the tables is :mod:`controlplane.jobs.hlr`.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol

from controlplane.campaigns.exceptions import HlrNotConfigured as HlrNotConfigured

if TYPE_CHECKING:
    from controlplane.config import Settings

STATUSES = ("active", "inactive", "unknown", "error")  # = models.campaigns.HLR_STATUSES
ANSWERED = ("active", "inactive", "unknown")  # what a provider may say about a number
DETAIL_MAX = 200  # hlr_result.detail
PROVIDER_MAX = 64  # hlr_result.provider
RESPONSE_MAX = 4 * 1024 * 1024  # bytes: a larger answer is an error, not a memory spike

Action = Literal["dial", "skip"]


@dataclass(frozen=True, slots=True)
class HlrAnswer:
    """A provider's answer about one number; ``ported`` is None when not reported."""

    status: str
    network: str = ""
    ported: bool | None = None
    detail: str = ""

    def describe(self) -> str:
        """The text stored in ``hlr_result.detail``: the network, porting, the reason."""
        parts = [f"network {self.network}"] if self.network else []
        if self.ported is not None:
            parts.append("ported" if self.ported else "not ported")
        if self.detail:
            parts.append(self.detail)
        return "; ".join(parts)[:DETAIL_MAX]


class HlrProvider(Protocol):
    """Anything that answers HLR look-ups. ``lookup`` returns an answer for every number
    asked (an ``error`` answer when it has none) and does not raise on a bad reply."""

    name: str  # stored in hlr_result.provider (never holds a secret)

    def lookup(self, numbers: Sequence[str]) -> dict[str, HlrAnswer]: ...


# --- policy (pure) -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HlrPolicy:
    """What is checked and how answers are used.

    ``kinds``: the ``contact_phone.kind`` values worth a look-up (HLR only knows mobile
    networks); ``max_age_s``: how long an answer is reused; ``error_retry_s``: how long
    an error stands before the number is asked again; ``skip_uncertain``: close records
    whose answer is ``unknown`` or ``error`` instead of dialling them; ``batch_size``:
    numbers per provider request.
    """

    kinds: frozenset[str] = frozenset({"mobile"})
    max_age_s: float = 30 * 86400.0
    error_retry_s: float = 3600.0
    skip_uncertain: bool = False
    batch_size: int = 100

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.max_age_s < 0 or self.error_retry_s < 0:
            raise ValueError(
                f"HLR policy: batch_size must be >= 1 and ages >= 0 (got {self.batch_size}, "
                f"{self.max_age_s}, {self.error_retry_s})"
            )


def should_check(kind: str, policy: HlrPolicy) -> bool:
    """Whether a number of this ``contact_phone.kind`` is looked up at all."""
    return kind in policy.kinds


def cached_status(
    history: Iterable[tuple[str, datetime]], now: datetime, policy: HlrPolicy
) -> str | None:
    """The status to reuse from earlier results ``(status, checked_at)`` of one number, or
    None when it must be asked again: the newest real answer younger than ``max_age_s``
    wins; failing that, an error younger than ``error_retry_s``."""
    answers = sorted(history, key=lambda item: item[1], reverse=True)
    for status, checked_at in answers:
        if status != "error" and (now - checked_at).total_seconds() <= policy.max_age_s:
            return status
    for status, checked_at in answers:
        if status == "error" and (now - checked_at).total_seconds() <= policy.error_retry_s:
            return status
    return None


def action(status: str, policy: HlrPolicy) -> Action:
    """What to do with a record whose number got ``status`` (see the table above)."""
    if status == "active":
        return "dial"
    if status == "inactive":
        return "skip"
    if status in ("unknown", "error"):
        return "skip" if policy.skip_uncertain else "dial"
    raise ValueError(f"unknown HLR status {status!r} (one of {', '.join(STATUSES)})")


def batches(items: Sequence[str], size: int) -> list[Sequence[str]]:
    """``items`` in consecutive slices of at most ``size``."""
    return [items[i : i + size] for i in range(0, len(items), size)]


def errors(numbers: Iterable[str], reason: str) -> dict[str, HlrAnswer]:
    """An ``error`` answer with ``reason`` for each of ``numbers``."""
    return {n: HlrAnswer("error", detail=reason[:DETAIL_MAX]) for n in numbers}


def parse_answer(numbers: Sequence[str], body: bytes) -> dict[str, HlrAnswer]:
    """Read a provider's reply ``{"results": [{"number", "status", "network", "ported"}]}``
    into an answer for each of ``numbers``; anything unusable becomes an ``error`` that
    says what was wrong and where. Numbers the reply does not mention are errors too."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as err:
        return errors(numbers, f"malformed JSON from the HLR provider: {err}")
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, list):
        return errors(numbers, 'the HLR provider\'s reply has no "results" list')
    wanted = set(numbers)
    out: dict[str, HlrAnswer] = {}
    for i, item in enumerate(results):
        number = item.get("number") if isinstance(item, dict) else None
        if not isinstance(item, dict) or not isinstance(number, str) or number not in wanted:
            continue  # not a number we asked about: nothing to attach it to
        status, network, ported = item.get("status"), item.get("network"), item.get("ported")
        if status not in ANSWERED:
            reason = f"results[{i}].status: {status!r} is not one of {', '.join(ANSWERED)}"
            out[number] = HlrAnswer("error", detail=reason[:DETAIL_MAX])
            continue
        out[number] = HlrAnswer(
            status,
            network=network[:64] if isinstance(network, str) else "",
            ported=ported if isinstance(ported, bool) else None,
        )
    missing = [n for n in numbers if n not in out]
    out.update(errors(missing, "the HLR provider's reply has no result for this number"))
    return out


# --- the HTTP JSON provider (the network edge) --------------------------------------------


class HttpHlrProvider:
    """A provider reached by ``POST base_url`` (the URL as given) with a JSON body
    ``{"numbers": [...]}`` and ``Authorization: Bearer <api_key>``; ``timeout_s`` bounds
    the connection, each read and the whole reply."""

    def __init__(self, base_url: str, api_key: str, timeout_s: float = 10.0) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise HlrNotConfigured(
                "CENTRALA_HLR_URL must be an http:// or https:// URL with a host"
            )
        if timeout_s <= 0:
            raise HlrNotConfigured(f"the HLR timeout must be positive (got {timeout_s})")
        self.base_url = base_url
        self._api_key = api_key
        self.timeout_s = timeout_s
        port = f":{parts.port}" if parts.port else ""
        self.name = f"http:{parts.hostname}{port}"[:PROVIDER_MAX]  # no user info, no query

    def __repr__(self) -> str:
        return f"HttpHlrProvider({self.name!r}, timeout_s={self.timeout_s})"

    def lookup(self, numbers: Sequence[str]) -> dict[str, HlrAnswer]:
        """Ask about ``numbers`` in one request; never raises on a bad or slow reply."""
        if not numbers:
            return {}
        request = urllib.request.Request(
            self.base_url,
            data=json.dumps({"numbers": list(numbers)}).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Authorization": f"Bearer {self._api_key}",
                "User-Agent": "centrala-hlr/1",
            },
        )
        deadline = time.monotonic() + self.timeout_s
        try:
            with _OPENER.open(request, timeout=self.timeout_s) as response:
                body = _read(response, deadline)
        except urllib.error.HTTPError as err:
            err.close()
            return errors(numbers, f"HTTP {err.code} from the HLR provider")
        except TimeoutError:
            return errors(numbers, f"no reply from the HLR provider within {self.timeout_s} s")
        except urllib.error.URLError as err:
            if isinstance(err.reason, TimeoutError):
                return errors(numbers, f"no reply from the HLR provider within {self.timeout_s} s")
            return errors(numbers, f"cannot reach the HLR provider: {err.reason}")
        except _TooLarge:
            return errors(numbers, f"the HLR provider's reply exceeds {RESPONSE_MAX} bytes")
        except (http.client.HTTPException, OSError) as err:
            return errors(numbers, f"broken reply from the HLR provider: {type(err).__name__}")
        return parse_answer(numbers, body)


class _TooLarge(Exception):
    pass


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an error: following it would send the key to another URL."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def _read(response: http.client.HTTPResponse, deadline: float) -> bytes:
    """The whole body, read piece by piece so a server trickling bytes still hits the
    deadline (the socket timeout alone bounds each read, not the total)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError
        chunk = response.read1(65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > RESPONSE_MAX:
            raise _TooLarge
        chunks.append(chunk)


def provider_from_settings(settings: Settings) -> HttpHlrProvider:
    """The provider configured by ``CENTRALA_HLR_URL``/``CENTRALA_HLR_KEY``/
    ``CENTRALA_HLR_TIMEOUT_S``; :class:`HlrNotConfigured` when the URL is not set."""
    if not settings.hlr_url:
        raise HlrNotConfigured(
            "no HLR provider is configured (set CENTRALA_HLR_URL and CENTRALA_HLR_KEY)"
        )
    return HttpHlrProvider(settings.hlr_url, settings.hlr_key, settings.hlr_timeout_s)
