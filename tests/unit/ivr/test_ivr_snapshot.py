"""A call's place in its flow survives a round trip through JSON and is taken up again."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ivr_flows import parse_flow, snapshot
from ivr_flows.commands import (
    Play,
    StartSubflow,
    StartTimer,
    StopPlayback,
    StopRecording,
    Transfer,
)
from ivr_flows.events import CallEntered, DtmfReceived, PlaybackFinished, SubflowReturned
from ivr_flows.machine import Phase, new_call, step
from ivr_flows.model import Flow

T0 = datetime(2026, 11, 10, 10, 0, tzinfo=UTC)


def flow_from(doc: dict[str, Any]) -> Flow:
    return parse_flow({"format_version": 1, "id": "t", **doc})


MENU = flow_from({
    "name": "Menu", "start": "greet",
    "settings": {"language": "en-US", "voice": "en", "max_duration_s": 60},
    "variables": {"tier": "none"},
    "nodes": {
        "greet": {"type": "set", "variables": {"tier": "gold"}, "next": "lang"},
        "lang": {"type": "language", "language": "de-DE", "next": "main"},
        "main": {"type": "menu", "prompt": {"tts": "Press one or two."},
                 "options": {"1": {"next": "one"}, "2": {"next": "two"}},
                 "timeout_s": 8, "max_retries": 1, "fallback": "bye"},
        "one": {"type": "transfer", "to": "agent", "target": "1002"},
        "two": {"type": "transfer", "to": "agent", "target": "1001"},
        "bye": {"type": "hangup"},
    },
})
RECORD = flow_from({
    "name": "Rec", "start": "rec",
    "settings": {"language": "en-US", "voice": "en", "max_duration_s": 60},
    "nodes": {
        "rec": {"type": "record", "prompt": {"tts": "Speak."}, "variable": "msg",
                "max_duration_s": 20, "next": "bye"},
        "bye": {"type": "hangup"},
    },
})


def in_menu() -> Any:
    state = new_call(MENU, version_id="41")
    state, _ = step(state, CallEntered("c1", "+48601", "+48221"), T0)
    state, _ = step(state, PlaybackFinished(state.playing[0]), T0 + timedelta(seconds=3))
    assert state.phase is Phase.INPUT and state.node_id == "main"
    return state


def round_trip(parents: list[Any], state: Any, flows: dict[str, Flow]) -> tuple[list[Any], Any]:
    text = json.dumps(snapshot.dump(parents, state, "+48601", "+48221"))
    return snapshot.load(json.loads(text), flows.get, {})


def test_a_state_comes_back_equal_from_json() -> None:
    state = in_menu()
    parents, back = round_trip([], state, {"41": MENU})
    assert parents == [] and back == state
    assert back.variables["tier"] == "gold" and back.language == "de-DE"


def test_a_call_waiting_in_a_menu_resumes_there_and_its_key_leads_on() -> None:
    _, state = round_trip([], in_menu(), {"41": MENU})
    now = T0 + timedelta(seconds=20)
    state, cmds = snapshot.resume(state, now)
    # the menu prompt again, in the language the flow had chosen, guarded by fresh timers
    plays = [c for c in cmds if isinstance(c, Play)]
    assert [p.tts_text for p in plays] == ["Press one or two."] and plays[0].language == "de-DE"
    max_timer = next(c for c in cmds if isinstance(c, StartTimer) and "max" in c.timer_id)
    assert max_timer.seconds == pytest.approx(40)  # 60 s from entry, 20 s gone
    assert state.phase is Phase.PROMPT and state.node_id == "main"
    state, cmds = step(state, DtmfReceived("1"), now + timedelta(seconds=1))  # barge-in
    assert Transfer("agent", "1002") in cmds


def test_resume_stops_what_still_plays_and_ids_never_repeat() -> None:
    state = new_call(MENU, version_id="41")
    state, _ = step(state, CallEntered("c1", "+48601", "+48221"), T0)
    old_ids = set(state.playing) | {state.timer, state.max_timer}
    state, cmds = snapshot.resume(state, T0 + timedelta(seconds=1))
    assert [c for c in cmds if isinstance(c, StopPlayback)] == [
        StopPlayback(p) for p in old_ids if p and "play" in p]
    new_ids = set(state.playing) | {state.timer, state.max_timer}
    assert not new_ids & old_ids
    # a late end of the old playback is an echo: it changes nothing
    late = next(p for p in old_ids if p and "play" in p)
    assert step(state, PlaybackFinished(late), T0 + timedelta(seconds=2)) == (state, ())


def test_a_recording_in_progress_is_stopped_and_started_again() -> None:
    state = new_call(RECORD, version_id="9")
    state, _ = step(state, CallEntered("c1", "+48601", "+48221"), T0)
    state, _ = step(state, PlaybackFinished(state.playing[0]), T0 + timedelta(seconds=2))
    assert state.phase is Phase.RECORDING
    old = state.pending
    state, cmds = snapshot.resume(state, T0 + timedelta(seconds=5))
    assert cmds[0] == StopRecording(old)  # type: ignore[arg-type]
    assert state.phase is Phase.PROMPT and state.node_id == "rec"


def test_past_its_deadline_the_call_is_ended_by_the_max_time_timer_at_once() -> None:
    state = in_menu()
    state, cmds = snapshot.resume(state, T0 + timedelta(seconds=90))
    max_timer = next(c for c in cmds if isinstance(c, StartTimer) and c.timer_id == state.max_timer)
    assert max_timer.seconds == 0


def test_a_sub_flow_resumes_inside_the_child_and_returns_to_its_parent() -> None:
    child_flow = flow_from({
        "name": "Pick", "kind": "subflow", "start": "menu",
        "settings": {"language": "en-US", "voice": "en"}, "variables": {"choice": "none"},
        "nodes": {"menu": {"type": "menu", "prompt": {"tts": "Press one."},
                           "options": {"1": {"next": "sales"}}, "timeout_s": 8,
                           "max_retries": 0, "fallback": "done"},
                  "sales": {"type": "set", "variables": {"choice": "sales"}, "next": "done"},
                  "done": {"type": "return"}},
    })
    main_flow = flow_from({
        "name": "Main", "start": "ask",
        "settings": {"language": "en-US", "voice": "en", "max_duration_s": 60},
        "variables": {"choice": "none"},
        "nodes": {"ask": {"type": "subflow", "flow": "pick", "outputs": ["choice"],
                          "next": "sales"},
                  "sales": {"type": "transfer", "to": "agent", "target": "1002"}},
    })
    parent = new_call(main_flow, version_id="1")
    parent, cmds = step(parent, CallEntered("c1", "+48601", "+48221"), T0)
    start = next(c for c in cmds if isinstance(c, StartSubflow))
    child = new_call(child_flow, version_id="2", scope="main.1", depth=1,
                     deadline=start.deadline)
    child, _ = step(child, CallEntered("c1", "+48601", "+48221"), T0)
    parents, child = round_trip([parent], child, {"1": main_flow, "2": child_flow})
    assert parents == [parent] and parents[0].phase is Phase.SUBFLOW
    child, cmds = snapshot.resume(child, T0 + timedelta(seconds=5))
    child, cmds = step(child, DtmfReceived("1"), T0 + timedelta(seconds=6))
    outcome = cmds[-1]
    assert child.outcome == "returned" and dict(outcome.variables)["choice"] == "sales"  # type: ignore[union-attr]
    _, cmds = step(parents[0], SubflowReturned("returned", outcome.variables),  # type: ignore[union-attr]
                   T0 + timedelta(seconds=6))
    assert Transfer("agent", "1002") in cmds


@pytest.mark.parametrize("phase_of", ["new", "done"])
def test_a_call_not_waiting_in_a_node_is_not_resumable(phase_of: str) -> None:
    state = new_call(MENU, version_id="41")
    if phase_of == "done":
        state, _ = step(in_menu(), DtmfReceived("1"), T0 + timedelta(seconds=4))
    assert not snapshot.resumable(state)
    with pytest.raises(snapshot.SnapshotError):
        snapshot.resume(state, T0)


def test_unusable_data_is_refused_with_a_snapshot_error() -> None:
    data = snapshot.dump([], in_menu(), "+48601", "+48221")
    with pytest.raises(snapshot.SnapshotError, match="gone"):
        snapshot.load(data, {}.get, {})  # the flow version was deleted
    with pytest.raises(snapshot.SnapshotError, match="format"):
        snapshot.load({**data, "format": 99}, {"41": MENU}.get, {})
    frame = {**data["frames"][0], "node_id": "nowhere"}
    with pytest.raises(snapshot.SnapshotError, match="nowhere"):
        snapshot.load({**data, "frames": [frame]}, {"41": MENU}.get, {})
    with pytest.raises(snapshot.SnapshotError):
        snapshot.load({**data, "frames": [{"phase": "input"}]}, {"41": MENU}.get, {})
