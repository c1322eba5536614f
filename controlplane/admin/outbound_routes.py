"""Which trunk a dialled number leaves by: the choice among a tenant's outbound routes (pure).

Theory of operation
-------------------
A tenant's routes (:class:`Route`, read from ``outbound_route`` by
:mod:`controlplane.admin.route_store`) each name digit prefixes, an ordered list of trunks
(the first is the primary, the later ones failover), digits to strip from the front of the
number and digits to prepend. :func:`choose` picks, among the ENABLED routes, the one with
the LONGEST prefix the number starts with; routes matching equally well go by ``position``
(then id, so the choice never depends on the order rows were read). A route with no
prefix matches any number with a length of 0: it is the default route, taken only when no
route names a prefix of the number. So "48 5/6/7/8 → cheap carrier, everything else →
incumbent" is two routes, whatever their order.

Numbers and prefixes are compared as digits, a leading ``+`` ignored on both sides
('+48' and '48' are the same prefix): desk phones dial digits, campaigns store E.164, and
the carrier is always sent digits (``PJSIP/<digits>@<trunk>``, as before routes existed).
After the choice, ``strip`` digits are removed from the front and ``prepend`` is put
there; a route that would strip the whole number does not match it.

:func:`choose` returns None when no enabled route matches: the number has no way out (the
caller hears no service), exactly as a FreePBX route set without a catch-all. A tenant with
no routes at all never gets here: :func:`default_choice` keeps the rule from before routes,
its first trunk by id, the number untouched.

No I/O: listed in the ``pure`` import contract (pyproject.toml).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PREFIX_RE = re.compile(r"^\+?[0-9]{1,15}$")
PREPEND_RE = re.compile(r"^[0-9]{0,20}$")
CALLER_ID_RE = re.compile(r"^\+?[0-9]{3,20}$")
MAX_STRIP = 15
MAX_PREFIXES = 100


@dataclass(frozen=True)
class Route:
    """One outbound route as the choice needs it (trunks by SIP object name, primary first)."""

    id: int
    name: str
    position: int
    prefixes: tuple[str, ...]
    trunks: tuple[str, ...]
    strip: int = 0
    prepend: str = ""
    caller_id: str | None = None
    enabled: bool = True


@dataclass(frozen=True)
class Leg:
    """One way out: ``number`` (digits as the carrier receives them) over ``trunk``."""

    trunk: str
    number: str

    @property
    def dial(self) -> str:
        """The ARI endpoint of the leg."""
        return f"PJSIP/{self.number}@{self.trunk}"


@dataclass(frozen=True)
class Choice:
    """Where a number goes: ``legs`` in failover order (never empty), the route's name
    (None: the tenant has no routes, its first trunk) and the caller ID to present (None:
    the caller's own)."""

    route: str | None
    legs: tuple[Leg, ...]
    caller_id: str | None = None

    @property
    def primary(self) -> Leg:
        return self.legs[0]


def digits(number: str) -> str:
    """``number`` without its leading ``+`` (the carrier is sent digits)."""
    return number.lstrip("+")


def matched_length(route: Route, number: str) -> int | None:
    """How long the longest prefix of ``route`` that ``number`` starts with is (0: the route
    has no prefix, it matches anything); None: no match (or disabled, or no trunk, or the
    route would strip the whole number)."""
    if not route.enabled or not route.trunks:
        return None
    num = digits(number)
    if not num or route.strip >= len(num):
        return None
    if not route.prefixes:
        return 0
    lengths = [len(p) for p in map(digits, route.prefixes) if num.startswith(p)]
    return max(lengths) if lengths else None


def choose(routes: Iterable[Route], number: str) -> Choice | None:
    """The enabled route with the longest matching prefix (ties: lowest position, then id),
    as a :class:`Choice`; None when none matches."""
    best: tuple[int, int, int] | None = None
    chosen: Route | None = None
    for route in routes:
        length = matched_length(route, number)
        if length is None:
            continue
        key = (-length, route.position, route.id)
        if best is None or key < best:
            best, chosen = key, route
    if chosen is None:
        return None
    dialled = chosen.prepend + digits(number)[chosen.strip:]
    return Choice(chosen.name, tuple(Leg(t, dialled) for t in chosen.trunks), chosen.caller_id)


def default_choice(first_trunk: str | None, number: str) -> Choice | None:
    """The rule of a tenant with no route: its first trunk, the number exactly as given (as
    before routes existed: a desk phone's '+' is kept, callers strip it where they did)."""
    if first_trunk is None or not digits(number):
        return None
    return Choice(None, (Leg(first_trunk, number),))


# ---- the rules of a route's fields (the admin room names the field and translates) ----

class BadValue(ValueError):
    """``field`` has a wrong value; ``value`` is the offending part (a prefix, say)."""

    def __init__(self, field: str, value: str) -> None:
        super().__init__(f"{field}: {value!r}")
        self.field = field
        self.value = value


def parse_prefixes(raw: str | Sequence[str] | None) -> tuple[str, ...]:
    """Prefixes from a form (separated by commas, spaces or new lines) or a JSON list: each
    1-15 digits with an optional '+', duplicates dropped, order kept. ``BadValue`` names the
    first wrong one."""
    items = re.split(r"[\s,;]+", raw) if isinstance(raw, str) else list(raw or ())
    out: list[str] = []
    for item in items:
        item = str(item).strip()
        if not item:
            continue
        if not PREFIX_RE.match(item):
            raise BadValue("prefixes", item)
        if item not in out:
            out.append(item)
    if len(out) > MAX_PREFIXES:
        raise BadValue("prefixes", f"{len(out)} > {MAX_PREFIXES}")
    return tuple(out)


def check_strip(raw: object) -> int:
    """Digits to strip: a whole number 0..15."""
    try:
        value = int(str(raw if raw is not None and raw != "" else 0))
    except ValueError:
        raise BadValue("strip", str(raw)) from None
    if not 0 <= value <= MAX_STRIP:
        raise BadValue("strip", str(raw))
    return value


def check_prepend(raw: str | None) -> str:
    value = (raw or "").strip()
    if not PREPEND_RE.match(value):
        raise BadValue("prepend", value)
    return value


def check_caller_id(raw: str | None) -> str | None:
    value = (raw or "").strip()
    if not value:
        return None
    if not CALLER_ID_RE.match(value):
        raise BadValue("caller_id", value)
    return value


def reorder(ids: Sequence[int], moving: int, step: int) -> list[int]:
    """``ids`` (routes in position order) with ``moving`` moved ``step`` places (-1 up,
    +1 down), clamped at the ends; unknown id: unchanged."""
    out = list(ids)
    if moving not in out:
        return out
    i = out.index(moving)
    j = max(0, min(len(out) - 1, i + step))
    out.insert(j, out.pop(i))
    return out
