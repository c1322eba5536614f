"""A caller who entered the app while nobody listened is recognised from GET /channels."""

from __future__ import annotations

from datetime import UTC, datetime

from controlplane.engine.events import StasisStart, unheard_start

AT = datetime(2026, 12, 3, 22, 0, tzinfo=UTC)


def channel(app_name: str, app_data: str, **extra: object) -> dict[str, object]:
    return {"id": "1733.7", "name": "PJSIP/demo-trunk-00000001", "state": "Ring",
            "caller": {"number": "48600100200", "name": ""},
            "dialplan": {"context": "from-trunk", "exten": "48221000001", "priority": 1,
                         "app_name": app_name, "app_data": app_data}, **extra}


def test_an_inbound_caller_in_the_app_gets_its_start_back_with_the_trunk_args() -> None:
    start = unheard_start(channel(
        "Stasis", "centrala,inbound,48221000001,1,demo-trunk,127.0.0.1:5070",
        channelvars={"CENTRALA_TENANT": "1"}), "centrala", AT)
    assert isinstance(start, StasisStart)
    assert start.args == ("inbound", "48221000001", "1", "demo-trunk", "127.0.0.1:5070")
    assert start.channel.id == "1733.7" and start.channel.caller_number == "48600100200"
    assert start.variable("CENTRALA_TENANT") == "1" and start.at == AT


def test_an_outbound_call_from_a_phone_is_routed_again_too() -> None:
    start = unheard_start(channel("Stasis", "centrala,outbound,0048221000009"), "centrala", AT)
    assert start is not None and start.args == ("outbound", "0048221000009")


def test_channels_that_are_not_dialplan_callers_of_this_app_are_left_alone() -> None:
    assert unheard_start(channel("Stasis", "centrala,agent,1733.7"), "centrala", AT) is None
    assert unheard_start(channel("Stasis", "centrala"), "centrala", AT) is None
    assert unheard_start(channel("Stasis", "other,inbound,1"), "centrala", AT) is None
    assert unheard_start(channel("Dial", "PJSIP/x"), "centrala", AT) is None
    assert unheard_start({"id": "x", "dialplan": {}}, "centrala", AT) is None
    assert unheard_start({"id": "x"}, "centrala", AT) is None
