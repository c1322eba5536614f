"""Licences and sessions: the licence cap, one workstation per user, refuse or take over."""

from __future__ import annotations

import pytest

from controlplane.acd import sessions as ss


def run(
    state: ss.SessionsState, events: list[ss.SessionEvent]
) -> tuple[ss.SessionsState, list[ss.SessionOutput]]:
    out: list[ss.SessionOutput] = []
    for n, e in enumerate(events):
        state, o = ss.step(state, e, float(n))
        out += o
    return state, out


def test_licence_cap_refuses_the_extra_user_until_one_logs_out() -> None:
    s = ss.SessionsState(1, licences=2)
    s, out = run(s, [ss.Login("ann", "ws1"), ss.Login("bob", "ws2"), ss.Login("cy", "ws3")])
    assert set(s.sessions) == {"ann", "bob"}
    refused = [o for o in out if isinstance(o, ss.LoginRefused)]
    assert [(r.user, r.reason) for r in refused] == [("cy", "licence_limit")]
    assert "2 licences" in refused[0].message
    assert [a.action for a in out if isinstance(a, ss.Audit)] == ["login", "login", "login_refused"]
    s, out = run(s, [ss.Logout("bob", "ws2"), ss.Login("cy", "ws3")])
    assert set(s.sessions) == {"ann", "cy"}


@pytest.mark.parametrize(
    ("mode", "workstation", "actions", "ended"),
    [
        (ss.SecondLogin.REFUSE, "ws1", ["login_refused"], []),
        (ss.SecondLogin.TAKEOVER, "ws2", ["takeover"], [ss.EndSession("ann", "ws1", "taken_over")]),
    ],
)
def test_second_login_refused_or_taken_over_with_audit(
    mode: ss.SecondLogin, workstation: str, actions: list[str], ended: list[ss.EndSession]
) -> None:
    s, _ = run(ss.SessionsState(7, licences=1, second_login=mode), [ss.Login("ann", "ws1")])
    s, out = ss.step(s, ss.Login("ann", "ws2"), 10.0)
    assert s.sessions["ann"].workstation == workstation
    audits = [o for o in out if isinstance(o, ss.Audit)]
    assert [a.action for a in audits] == actions
    assert (
        audits[0].previous_workstation == "ws1"
        and audits[0].tenant_id == 7
        and audits[0].at == 10.0
    )
    assert [o for o in out if isinstance(o, ss.EndSession)] == ended


def test_takeover_keeps_the_licence_and_ignores_the_late_logout_of_the_old_workstation() -> None:
    s = ss.SessionsState(1, licences=1, second_login=ss.SecondLogin.TAKEOVER)
    s, out = run(s, [ss.Login("ann", "ws1"), ss.Login("ann", "ws2"), ss.Logout("ann", "ws1")])
    assert s.sessions["ann"].workstation == "ws2"
    s, out = ss.step(s, ss.Login("bob", "ws3"), 9)
    assert isinstance(out[0], ss.LoginRefused)


def test_same_workstation_login_again_is_accepted_without_a_new_session() -> None:
    s, _ = run(ss.SessionsState(1, licences=1), [ss.Login("ann", "ws1")])
    s2, out = ss.step(s, ss.Login("ann", "ws1"), 5)
    assert s2 == s and out == [ss.LoginAccepted("ann", "ws1")]
