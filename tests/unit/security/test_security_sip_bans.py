"""The SIP ban machine: window, threshold, expiry, allow-list, repeat offenders, lifts,
restores; table-driven where the cases share a shape."""

from __future__ import annotations

import pytest

from controlplane.security import bans
from controlplane.security.bans import (
    AuthFailure,
    Ban,
    BanPolicy,
    FirstFailure,
    Lift,
    Refused,
    Restore,
    SourceState,
    Spared,
    Status,
    Tick,
    Unban,
    parse_networks,
    step,
)

ADDR = "198.51.100.7"
POLICY = BanPolicy(max_failures=3, window_s=10, ban_s=100, max_ban_s=1000, repeat_factor=4,
                   repeat_window_s=10_000, allow=parse_networks(["127.0.0.1/32", "10.0.0.0/8"]))


def run(events: list[tuple[float, bans.Event]], address: str = ADDR,
        policy: BanPolicy = POLICY, state: SourceState | None = None, audit: bool = False,
        ) -> tuple[SourceState, list[bans.Decision]]:
    """Feed ``events``; the decisions, without the audit lines (FirstFailure) unless asked."""
    state = state or SourceState(address)
    out: list[bans.Decision] = []
    for now, event in events:
        state, decisions = step(state, event, policy, now)
        out += [d for d in decisions if audit or not isinstance(d, FirstFailure)]
    return state, out


@pytest.mark.parametrize(("times", "firsts"), [
    ([0, 1], [0]),  # one audit line for a source's failures within a window
    ([0, 11], [0, 11]),  # the window passed: a new line
    ([0, 5, 12], [0]),  # 5 is still in the window at 12
    ([0, 5, 16, 17], [0, 16]),  # (threshold 3 within 10 s never reached)
])
def test_first_failure_of_a_window_is_audited_once(times: list[float], firsts: list[float]) -> None:
    state = SourceState(ADDR)
    seen = []
    for t in times:
        state, out = step(state, fail(kind="InvalidAccountID", account="scanner"), POLICY, t)
        seen += [t for d in out if isinstance(d, FirstFailure)]
        assert all(d == FirstFailure(ADDR, "InvalidAccountID", "scanner")
                   for d in out if isinstance(d, FirstFailure))
    assert seen == firsts


def fail(account: str = "demo-1001", kind: str = "ChallengeResponseFailed",
         address: str = ADDR) -> AuthFailure:
    return AuthFailure(address, kind, account)


@pytest.mark.parametrize(("times", "banned"), [
    ([0, 1, 2], True),  # three within the window
    ([0, 1], False),  # one short
    ([0, 5, 9.9], True),  # the third just inside 10 s
    ([0, 5, 10], False),  # the first has left the window when the third comes
    ([0, 11, 12], False),
    ([0, 11, 12, 13], True),  # counting starts again from the failures still in the window
])
def test_threshold_within_the_window(times: list[float], banned: bool) -> None:
    state, out = run([(t, fail()) for t in times])
    assert (state.status is Status.BANNED) is banned
    assert [type(d) for d in out] == ([Ban] if banned else [])


def test_a_ban_names_its_time_failures_kinds_and_accounts() -> None:
    state, out = run([(0, fail("a")), (1, fail("b", "InvalidAccountID")), (2, fail("a"))])
    assert out == [Ban(ADDR, 2, 102, 3, 1, ("ChallengeResponseFailed", "InvalidAccountID"),
                       ("a", "b"))]
    assert out[0].reason == "3 failed SIP authentications (ChallengeResponseFailed, InvalidAccountID)"
    assert (state.since, state.until, state.failures) == (2, 102, ())


def test_accounts_remembered_are_capped() -> None:
    policy = BanPolicy(max_failures=20, window_s=60)
    _, out = run([(i, fail(f"user{i}")) for i in range(20)], policy=policy)
    assert isinstance(out[0], Ban) and len(out[0].accounts) == bans.MAX_ACCOUNTS


def test_failures_while_banned_change_nothing() -> None:
    state, out = run([(t, fail()) for t in (0, 1, 2, 3, 4, 50)])
    assert [type(d) for d in out] == [Ban] and state.until == 102


@pytest.mark.parametrize(("tick_at", "expired"), [(101.9, False), (102, True), (500, True)])
def test_expiry_on_tick(tick_at: float, expired: bool) -> None:
    state, out = run([(0, fail()), (1, fail()), (2, fail()), (tick_at, Tick())])
    assert (out[1:] == [Unban(ADDR, "expired")]) is expired
    assert state.status is (Status.CLEAN if expired else Status.BANNED)


def test_tick_forgets_old_failures() -> None:
    state, _ = run([(0, fail()), (1, fail()), (11.5, Tick())])
    assert state.status is Status.CLEAN and state.failures == () and state.idle


@pytest.mark.parametrize("address", ["127.0.0.1", "10.20.30.40"])
def test_allow_listed_is_never_banned_but_reported(address: str) -> None:
    state, out = run([(t, fail(address=address)) for t in range(7)], address=address)
    assert out == [Spared(address, 3), Spared(address, 3)]  # every 3 failures, counting again
    assert state.status is Status.COUNTING and len(state.failures) == 1


@pytest.mark.parametrize(("allow", "address", "allowed"), [
    (["127.0.0.1/32"], "127.0.0.1", True),
    (["127.0.0.1/32"], "127.0.0.5", False),
    (["192.0.2.0/24"], "192.0.2.200", True),
    (["2001:db8::/32"], "2001:db8::1", True),
    (["2001:db8::/32"], "192.0.2.1", False),  # another family never matches
    (["192.0.2.0/24"], "not an address", False),
    ([], "127.0.0.1", False),
])
def test_allow_list_matching(allow: list[str], address: str, allowed: bool) -> None:
    assert BanPolicy(allow=parse_networks(allow)).allowed(address) is allowed


def test_bad_allow_list_entry_is_named() -> None:
    with pytest.raises(ValueError, match="'10.0.0.300/8' is not an IP address"):
        parse_networks(["10.0.0.0/8", "10.0.0.300/8"])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"max_failures": 0}, "max_failures"),
    ({"window_s": 0}, "positive"),
    ({"ban_s": 100, "max_ban_s": 50}, "max_ban_s"),
    ({"repeat_factor": 0.5}, "repeat_factor"),
])
def test_bad_policy_is_refused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BanPolicy(**kwargs)  # type: ignore[arg-type]


def test_repeat_offenders_get_longer_bans_up_to_the_cap() -> None:
    lengths = []
    state = SourceState(ADDR)
    now = 0.0
    for _ in range(4):
        state, out = run([(now, fail()), (now + 1, fail()), (now + 2, fail())], state=state)
        ban = out[0]
        assert isinstance(ban, Ban)
        lengths.append((ban.offence, ban.until - ban.since))
        state, _ = run([(ban.until, Tick())], state=state)
        now = ban.until + 1
    assert lengths == [(1, 100), (2, 400), (3, 1000), (4, 1000)]


def test_offences_outside_the_repeat_window_are_forgotten() -> None:
    state, _ = run([(0, fail()), (1, fail()), (2, fail()), (102, Tick())])
    assert state.offences == (2,) and not state.idle
    state, _ = run([(10_003, Tick())], state=state)
    assert state.offences == () and state.idle
    _, out = run([(10_004, fail()), (10_005, fail()), (10_006, fail())], state=state)
    assert isinstance(out[0], Ban) and out[0].offence == 1 and out[0].until - out[0].since == 100


def test_lift_clears_the_ban_and_the_count_but_not_the_history() -> None:
    state, _ = run([(0, fail()), (1, fail()), (2, fail()), (3, Lift("cli:root"))])
    assert state.status is Status.CLEAN and state.offences == (2,)
    _, out = run([(4, fail()), (5, fail()), (6, fail())], state=state)
    assert isinstance(out[0], Ban) and out[0].offence == 2


@pytest.mark.parametrize("status_events", [[], [(0, fail())]])
def test_lift_of_an_address_not_banned_is_refused(status_events: list) -> None:  # type: ignore[type-arg]
    state, out = run([*status_events, (1, Lift("panel"))])
    assert out == [Refused(ADDR, "Lift", f"not accepted while {state.status.value}")]


@pytest.mark.parametrize(("restore", "now", "status", "decisions"), [
    (Restore(since=0, until=100), 50, Status.BANNED, []),
    (Restore(since=0, until=100), 100, Status.CLEAN, [Unban(ADDR, "expired")]),
    (Restore(offences=(10.0,)), 50, Status.CLEAN, []),  # history only
])
def test_restore(restore: Restore, now: float, status: Status,
                 decisions: list[bans.Decision]) -> None:
    state, out = run([(now, restore)])
    assert (state.status, out) == (status, decisions)


def test_restore_of_a_now_allow_listed_address_lifts_it() -> None:
    state, out = run([(5, Restore(since=0, until=100))], address="10.1.2.3")
    assert out == [Unban("10.1.2.3", "allow-listed")] and state.status is Status.CLEAN


def test_restored_ban_expires_and_counts_as_an_offence() -> None:
    state, _ = run([(5, Restore(since=0, until=100, offences=(-50.0,)))])
    assert state.offences == (-50.0, 0)
    state, out = run([(100, Tick()), (101, fail()), (102, fail()), (103, fail())], state=state)
    assert out[0] == Unban(ADDR, "expired")
    assert isinstance(out[1], Ban) and out[1].offence == 3 and out[1].until - out[1].since == 1000


def test_every_transition_stays_in_the_table() -> None:
    """A random walk through every event: ``step`` asserts each handler's target status."""
    import random

    rnd = random.Random(7)
    state = SourceState(ADDR)
    now = 0.0
    events = [fail(), fail(), fail(), Tick(), Lift("x"), Restore(since=0, until=300)]
    for _ in range(2000):
        now += rnd.choice([0.1, 1, 5, 50])
        state, _ = step(state, rnd.choice(events), POLICY, now)
    assert state.status in Status
