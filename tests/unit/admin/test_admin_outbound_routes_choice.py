"""The pure choice of an outbound route: longest prefix, position, strip/prepend, defaults."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controlplane.admin.outbound_routes import (
    BadValue,
    Choice,
    Leg,
    Route,
    check_caller_id,
    check_prepend,
    check_strip,
    choose,
    default_choice,
    matched_length,
    parse_prefixes,
    reorder,
)


def route(id: int, prefixes: tuple[str, ...] = (), trunks: tuple[str, ...] = ("t1",),
          position: int | None = None, **kw: object) -> Route:
    return Route(id=id, name=f"r{id}", position=id if position is None else position,
                 prefixes=prefixes, trunks=trunks, **kw)  # type: ignore[arg-type]


def test_longest_prefix_wins_whatever_the_order() -> None:
    routes = [route(1, ("48",), ("incumbent",)), route(2, ("485", "486"), ("cheap",)),
              route(3, (), ("fallback",))]
    assert choose(routes, "48501234567") == Choice("r2", (Leg("cheap", "48501234567"),))
    assert choose(routes, "48221234567") == Choice("r1", (Leg("incumbent", "48221234567"),))
    assert choose(routes, "4412345") == Choice("r3", (Leg("fallback", "4412345"),))
    assert choose(list(reversed(routes)), "48501234567").route == "r2"  # type: ignore[union-attr]


def test_plus_is_ignored_on_both_sides() -> None:
    routes = [route(1, ("+48",), ("pl",))]
    assert choose(routes, "48600100200").primary.trunk == "pl"  # type: ignore[union-attr]
    assert choose(routes, "+48600100200").primary.number == "48600100200"  # type: ignore[union-attr]


def test_ties_go_by_position_then_id() -> None:
    a, b = route(1, ("48",), ("a",), position=5), route(2, ("48",), ("b",), position=1)
    assert choose([a, b], "48123").route == "r2"  # type: ignore[union-attr]
    c, d = route(3, (), ("c",), position=0), route(4, (), ("d",), position=0)
    assert choose([d, c], "123").route == "r3"  # type: ignore[union-attr]


def test_strip_prepend_and_failover_order() -> None:
    r = route(1, ("00",), ("primary", "backup"), strip=2, prepend="99", caller_id="48221000")
    got = choose([r], "0048221234")
    assert got == Choice("r1", (Leg("primary", "9948221234"), Leg("backup", "9948221234")),
                         "48221000")
    assert got.primary.dial == "PJSIP/9948221234@primary"


def test_disabled_trunkless_and_whole_number_strips_do_not_match() -> None:
    assert choose([route(1, ("48",), enabled=False)], "48123") is None
    assert choose([route(1, ("48",), trunks=())], "48123") is None
    assert choose([route(1, (), strip=5)], "12345") is None
    assert matched_length(route(1, (), strip=4), "12345") == 0
    assert choose([route(1, ("48",))], "44123") is None  # no catch-all: no way out
    assert choose([], "123") is None


def test_default_choice_is_the_first_trunk_as_dialled() -> None:
    assert default_choice("t-1", "+48123") == Choice(None, (Leg("t-1", "+48123"),))
    assert default_choice("t-1", "+") is None
    assert default_choice(None, "48123") is None


def test_field_rules_name_the_field() -> None:
    assert parse_prefixes("48, +49\n48 ;50") == ("48", "+49", "50")
    assert parse_prefixes(["1", "2"]) == ("1", "2")
    assert parse_prefixes(None) == ()
    for bad in ("4x", "++48", "1234567890123456"):
        with pytest.raises(BadValue) as err:
            parse_prefixes(bad)
        assert err.value.field == "prefixes"
    assert check_strip("3") == 3 and check_strip(None) == 0
    for bad_strip in ("-1", "16", "a"):
        with pytest.raises(BadValue):
            check_strip(bad_strip)
    assert check_prepend(" 0 ") == "0"
    with pytest.raises(BadValue):
        check_prepend("+1")
    assert check_caller_id("") is None and check_caller_id("+48221000") == "+48221000"
    with pytest.raises(BadValue):
        check_caller_id("12")


def test_reorder_moves_and_clamps() -> None:
    assert reorder([1, 2, 3], 3, -1) == [1, 3, 2]
    assert reorder([1, 2, 3], 1, -1) == [1, 2, 3]
    assert reorder([1, 2, 3], 3, 1) == [1, 2, 3]
    assert reorder([1, 2, 3], 9, 1) == [1, 2, 3]


prefix = st.text("0123456789", min_size=1, max_size=4)
routes_st = st.lists(
    st.tuples(st.lists(prefix, max_size=3), st.integers(0, 5), st.booleans()),
    min_size=1, max_size=6)


@given(routes_st, st.text("0123456789", min_size=1, max_size=8))
def test_longest_matching_prefix_wins(specs: list[tuple[list[str], int, bool]],
                                      number: str) -> None:
    routes = [Route(i + 1, f"r{i + 1}", pos, tuple(p), (f"t{i + 1}",), enabled=on)
              for i, (p, pos, on) in enumerate(specs)]
    got = choose(routes, number)
    matching = [(0 if not r.prefixes else max((len(p) for p in r.prefixes
                                               if number.startswith(p)), default=-1), r)
                for r in routes if r.enabled]
    matching = [(n, r) for n, r in matching if n >= 0]
    if not matching:
        assert got is None
        return
    assert got is not None
    winner = next(r for r in routes if r.name == got.route)
    longest = max(n for n, _ in matching)
    assert matched_length(winner, number) == longest
    tied = [r for n, r in matching if n == longest]
    assert (winner.position, winner.id) == min((r.position, r.id) for r in tied)
    assert got.primary == Leg(winner.trunks[0], number)
