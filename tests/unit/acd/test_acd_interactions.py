"""Capacity rules per channel: one voice call, up to six chats, voice exclusive (but next
to e-mails held)."""

from __future__ import annotations

import pytest

from controlplane.acd.interactions import DEFAULT_CAPACITY, Capacity, Channel, can_take, capacity_of

V, C, E = Channel.VOICE, Channel.CHAT, Channel.EMAIL


@pytest.mark.parametrize(
    ("load", "channel", "ok"),
    [
        ({}, V, True),
        ({}, C, True),
        ({}, E, True),
        ({V: 1}, V, False),
        ({V: 1}, C, False),
        ({V: 1}, E, False),
        ({C: 1}, V, False),
        ({C: 5}, C, True),
        ({C: 6}, C, False),
        ({C: 6}, E, True),
        ({E: 3}, E, False),
        ({E: 2, C: 3}, C, True),
        ({C: 0}, V, True),
        ({E: 3}, V, True),  # e-mails in hand never keep a call away
        ({E: 1, C: 1}, V, False),
        ({E: 1}, C, True),
    ],
)
def test_default_capacity(load: dict[Channel, int], channel: Channel, ok: bool) -> None:
    assert can_take(load, channel, DEFAULT_CAPACITY) is ok


def test_tenant_capacity_override() -> None:
    two_chats = Capacity({V: 1, C: 2})
    assert can_take({C: 1}, C, two_chats) and not can_take({C: 2}, C, two_chats)
    assert not can_take({}, E, two_chats)  # e-mail not enabled for this tenant


def test_voice_reaches_an_agent_holding_emails_and_with_chats_only_when_allowed() -> None:
    assert can_take({E: 2}, V, capacity_of(6)) and not can_take({E: 2, C: 1}, V, capacity_of(6))
    assert can_take({E: 2, C: 1}, V, capacity_of(6, voice_with_chats=True))
    assert not can_take({V: 1, E: 1}, E, capacity_of(6))  # during the call nothing new
