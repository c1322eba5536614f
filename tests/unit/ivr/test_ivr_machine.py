"""Interpreter walk-throughs over the example flows with a controlled clock."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ivr_flows import parse_flow
from ivr_flows.commands import (
    CancelTimer,
    Command,
    EnqueueCall,
    FlowFinished,
    Hangup,
    HttpRequest,
    Play,
    RecordMessage,
    RequestCallback,
    SetLanguage,
    StartSubflow,
    StartTimer,
    StopPlayback,
    Transfer,
)
from ivr_flows.events import (
    CallEntered,
    CallHungUp,
    DtmfReceived,
    Event,
    HttpResult,
    PlaybackFinished,
    RecordingFinished,
    SubflowReturned,
    TimerFired,
)
from ivr_flows.machine import IvrState, Phase, new_call, step
from ivr_flows.model import Flow

WARSAW = ZoneInfo("Europe/Warsaw")
EXAMPLES = Path(__file__).resolve().parents[3] / "ivr_flows" / "examples"
TUESDAY_10 = datetime(2026, 11, 10, 10, 0, tzinfo=WARSAW)
CALLER = "+48601234567"


def load(name: str) -> Flow:
    return parse_flow(json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8")))


def flow_from(doc: dict[str, Any]) -> Flow:
    return parse_flow({"format_version": 1, "id": "t", **doc})


class Call:
    """Drives one machine, checks the no-dead-air invariant after every step."""

    def __init__(self, flow: Flow, now: datetime = TUESDAY_10, **kwargs: Any) -> None:
        self.state: IvrState = new_call(flow, version_id="v7", **kwargs)
        self.now = now
        self.log: list[Command] = []

    def send(self, event: Event, after: float = 0.0) -> list[Command]:
        self.now += timedelta(seconds=after)
        self.state, cmds = step(self.state, event, self.now)
        self.log += cmds
        waiting = self.state.phase in (Phase.PROMPT, Phase.INPUT, Phase.HTTP, Phase.RECORDING)
        if waiting:  # no dead air: every waiting phase has a node timer and the max-time timer
            assert self.state.timer is not None and self.state.max_timer is not None
        assert self.state.version_id == "v7"
        return list(cmds)

    def enter(self, caller: str = CALLER, **variables: Any) -> list[Command]:
        return self.send(CallEntered("c1", caller, "+48221110000", tuple(variables.items())))

    def play_all(self) -> list[Command]:
        """Report every outstanding playback finished; returns the commands of the last."""
        cmds: list[Command] = []
        for playback_id in self.state.playing:
            cmds = self.send(PlaybackFinished(playback_id), after=1)
        return cmds

    def fire(self, after: float = 5) -> list[Command]:
        assert self.state.timer is not None
        return self.send(TimerFired(self.state.timer), after=after)

    def dial(self, keys: str) -> list[Command]:
        cmds: list[Command] = []
        for key in keys:
            cmds += self.send(DtmfReceived(key), after=0.5)
        return cmds


def of(cmds: list[Command], kind: type) -> list[Any]:
    return [c for c in cmds if isinstance(c, kind)]


def spoken(cmds: list[Command]) -> list[str]:
    return [c.tts_text or c.media for c in of(cmds, Play)]


# --- main menu ---------------------------------------------------------------


def test_dtmf_menu_into_queue() -> None:
    call = Call(load("main_menu"))
    cmds = call.enter()
    assert isinstance(cmds[0], StartTimer) and cmds[0].seconds == 300  # max time in the IVR
    assert spoken(cmds) == ["sound:custom/welcome"]
    cmds = call.play_all()
    assert spoken(cmds)[0].startswith("Sprzedaż: wciśnij 1.")
    assert of(cmds, Play)[0].billable_chars == 0  # static TTS is billed once per version
    cmds = call.play_all()
    assert of(cmds, StartTimer)[0].seconds == 5  # waiting for a key
    cmds = call.dial("1")
    assert of(cmds, EnqueueCall) == [
        EnqueueCall("sales", 10, ("sales", "pl-PL"), of(cmds, EnqueueCall)[0].variables)
    ]
    assert cmds[-1] == FlowFinished("queued", "sales", cmds[-1].variables)
    # all timers cancelled: input timer and max-time timer
    started = {c.timer_id for c in of(call.log, StartTimer)}
    cancelled = {c.timer_id for c in of(call.log, CancelTimer)}
    assert started == cancelled
    assert call.send(DtmfReceived("2")) == []  # finished calls ignore events


@pytest.mark.parametrize(
    ("now", "calendars", "first_prompt"),
    [
        (datetime(2026, 11, 11, 10, 0, tzinfo=WARSAW), {}, "Dziś nasze biuro jest nieczynne."),
        (
            datetime(2026, 4, 6, 12, 0, tzinfo=WARSAW),
            {},
            "Dziś nasze biuro jest nieczynne.",
        ),  # Easter Monday
        (
            datetime(2026, 11, 12, 10, 0, tzinfo=WARSAW),
            {"office_closures": {date(2026, 11, 12)}},
            "Dziś nasze biuro jest nieczynne.",
        ),  # tenant calendar
        (
            datetime(2026, 11, 12, 10, 0, tzinfo=WARSAW),
            {"other": {date(2026, 11, 12)}},
            "sound:custom/welcome",
        ),
        (datetime(2026, 11, 12, 10, 0, tzinfo=WARSAW), {}, "sound:custom/welcome"),
        (datetime(2026, 11, 10, 20, 0, tzinfo=WARSAW), {}, "sound:custom/closed"),  # after hours
        (datetime(2026, 11, 14, 10, 0, tzinfo=WARSAW), {}, "sound:custom/closed"),  # Saturday
        # 17:30 UTC is 18:30 in Warsaw: the clock is read in the flow's time zone
        (datetime(2026, 11, 10, 17, 30, tzinfo=ZoneInfo("UTC")), {}, "sound:custom/closed"),
        (datetime(2026, 11, 10, 16, 30, tzinfo=ZoneInfo("UTC")), {}, "sound:custom/welcome"),
    ],
)
def test_holiday_and_after_hours_branches(
    now: datetime, calendars: dict[str, set[date]], first_prompt: str
) -> None:
    call = Call(load("main_menu"), now, calendars={k: frozenset(v) for k, v in calendars.items()})
    assert spoken(call.enter())[0].startswith(first_prompt)


def test_invalid_and_no_input_retries_then_fallback() -> None:
    call = Call(load("main_menu"))
    call.enter()
    call.play_all()
    call.play_all()
    cmds = call.dial("7")  # invalid
    assert spoken(cmds)[0] == "sound:option-is-invalid"
    assert spoken(cmds)[1].startswith("Sprzedaż")
    call.play_all()
    cmds = call.fire()  # no input
    assert spoken(cmds)[0] == "Nie wybrano żadnej opcji."
    call.play_all()
    cmds = call.dial("9")  # third failure > max_retries 2 -> fallback "support"
    assert of(cmds, EnqueueCall)[0].queue == "support"
    assert cmds[-1].outcome == "queued"


def test_barge_in_stops_playback_and_counts_the_key() -> None:
    call = Call(load("main_menu"))
    call.enter()
    cmds = call.play_all()
    menu_playback = of(cmds, Play)[0].playback_id
    cmds = call.dial("2")
    assert cmds[0] == StopPlayback(menu_playback)
    assert of(cmds, EnqueueCall)[0].queue == "support"
    # the stopped playback still reports its end: ignored
    assert call.send(PlaybackFinished(menu_playback)) == []


def test_keys_are_ignored_while_a_play_without_barge_in_runs() -> None:
    call = Call(load("main_menu"), datetime(2026, 11, 11, 10, 0, tzinfo=WARSAW))
    call.enter()
    assert call.dial("1") == []
    assert call.state.phase is Phase.PROMPT


def test_global_max_time_takes_on_max_time_branch() -> None:
    call = Call(load("main_menu"))
    call.enter()
    call.play_all()
    call.play_all()
    input_timer = call.state.timer
    cmds = call.send(TimerFired(call.state.max_timer), after=290)
    assert cmds[0] == CancelTimer(input_timer)
    assert spoken(cmds) == ["Łączymy z konsultantem."]
    assert of(cmds, StartTimer)[0].seconds == 60  # overtime grace for the branch
    cmds = call.play_all()
    assert of(cmds, EnqueueCall)[0].queue == "support"


def test_max_time_without_branch_hangs_up() -> None:
    flow = flow_from(
        {
            "start": "m",
            "settings": {"max_duration_s": 30},
            "nodes": {
                "m": {
                    "type": "menu",
                    "prompt": {"sound": "x"},
                    "options": {"1": {"next": "end"}},
                    "fallback": "m",
                },
                "end": {"type": "hangup"},
            },
        }
    )
    call = Call(flow)
    assert of(call.enter(), StartTimer)[0].seconds == 30
    cmds = call.send(TimerFired(call.state.max_timer), after=30)
    assert of(cmds, Hangup) == [Hangup("max_time")]
    assert cmds[-1].outcome == "max_time"
    assert of(cmds, StopPlayback)  # the prompt was still playing


def test_max_time_branch_gets_one_grace_period_only() -> None:
    flow = flow_from(
        {
            "start": "m",
            "settings": {"max_duration_s": 30, "on_max_time": "m"},
            "nodes": {
                "m": {
                    "type": "menu",
                    "prompt": {"sound": "x"},
                    "options": {"1": {"next": "end"}},
                    "fallback": "m",
                },
                "end": {"type": "hangup"},
            },
        }
    )
    call = Call(flow)
    call.enter()
    call.send(TimerFired(call.state.max_timer), after=30)
    assert call.state.overtime
    cmds = call.send(TimerFired(call.state.max_timer), after=60)
    assert of(cmds, Hangup) == [Hangup("max_time")]


def test_voicemail_recording_is_kept_in_a_variable() -> None:
    call = Call(load("main_menu"))
    call.enter()
    call.play_all()
    call.dial("3")
    cmds = call.play_all()
    (record,) = of(cmds, RecordMessage)
    assert (record.max_duration_s, record.beep, record.terminate_on) == (120, True, "#")
    cmds = call.send(RecordingFinished(record.name, 12.5), after=13)
    assert spoken(cmds) == ["sound:goodbye"]
    assert call.state.variables["voicemail"] == record.name


def test_callback_request_and_dynamic_tts_billing() -> None:
    call = Call(load("main_menu"), datetime(2026, 11, 11, 9, 30, tzinfo=WARSAW))
    call.enter()
    call.play_all()
    cmds = call.dial("1")
    assert of(cmds, RequestCallback) == [
        RequestCallback(CALLER, "support", "Prośba o oddzwonienie z IVR (2026-11-11 09:30)")
    ]
    (play,) = of(cmds, Play)
    assert play.tts_text == f"Dziękujemy. Oddzwonimy na numer {CALLER}."
    assert play.billable_chars == len(CALLER) == 12  # only the variable part is billed
    assert (play.voice, play.language) == ("pl", "pl-PL")


def test_caller_hangup_cancels_everything() -> None:
    call = Call(load("main_menu"))
    call.enter()
    guard, max_timer = call.state.timer, call.state.max_timer
    cmds = call.send(CallHungUp())
    assert cmds[:2] == [CancelTimer(guard), CancelTimer(max_timer)]
    assert cmds[-1].outcome == "caller_hangup"
    assert not of(cmds, StopPlayback) and not of(cmds, Hangup)
    assert call.send(TimerFired(max_timer)) == []


# --- account lookup: collect -> HTTP -> route --------------------------------

CRM = {"name": "Jan", "status": "active", "balance": 120.5, "tier": "standard"}


def _lookup_call(keys: str = "12345678") -> tuple[Call, HttpRequest]:
    call = Call(load("account_lookup"))
    call.enter()
    cmds = call.dial(keys)  # barge-in on the prompt, 8 digits complete the entry
    (request,) = of(cmds, HttpRequest)
    return call, request


def test_collect_account_then_http_request() -> None:
    call, request = _lookup_call()
    assert call.state.variables["account"] == "12345678"
    assert request.method == "GET"
    assert request.url == "https://crm.example.com/api/accounts/12345678?caller=%2B48601234567"
    assert request.headers == (("X-Call-Id", "c1"),)
    assert request.timeout_s == 3
    assert call.state.phase is Phase.HTTP


@pytest.mark.parametrize(
    ("crm", "speech", "billable", "final"),
    [
        (
            {**CRM, "tier": "vip"},
            "Dzień dobry, Jan. Łączymy z opiekunem.",
            3,
            EnqueueCall("vip", 90, ("vip", "account"), ()),
        ),
        (CRM, "Saldo konta wynosi 120.5 zł.", 5, EnqueueCall("billing", 20, ("billing",), ())),
        (
            {**CRM, "status": "blocked"},
            "Konto jest zablokowane. Łączymy z działem windykacji.",
            0,
            Transfer("number", "+48221234500"),
        ),
    ],
)
def test_route_on_json_field(
    crm: dict[str, Any], speech: str, billable: int, final: Command
) -> None:
    call, request = _lookup_call()
    cmds = call.send(HttpResult(request.request_id, 200, crm), after=0.4)
    (play,) = of(cmds, Play)
    assert (play.tts_text, play.billable_chars) == (speech, billable)
    cmds = call.play_all()
    done = [c for c in cmds if isinstance(c, EnqueueCall | Transfer)]
    if isinstance(final, EnqueueCall):
        assert [(c.queue, c.priority, c.skills) for c in done] == [
            (final.queue, final.priority, final.skills)
        ]
    else:
        assert done == [final]


@pytest.mark.parametrize(
    "result",
    [
        HttpResult("", 500, {"error": "boom"}),
        HttpResult("", None, None, "connection refused"),
        HttpResult("", 200, {"name": "Jan"}),  # fields missing
        HttpResult("", 200, None),  # not JSON
    ],
)
def test_http_failure_takes_failure_branch(result: HttpResult) -> None:
    call, request = _lookup_call()
    cmds = call.send(HttpResult(request.request_id, result.status, result.json, result.error))
    assert spoken(cmds) == ["Nie udało się sprawdzić konta."]


def test_http_timeout_takes_failure_branch_and_late_answer_is_ignored() -> None:
    call, request = _lookup_call()
    cmds = call.fire(after=3)
    assert spoken(cmds) == ["Nie udało się sprawdzić konta."]
    assert call.send(HttpResult(request.request_id, 200, CRM), after=1) == []
    cmds = call.play_all()
    assert of(cmds, EnqueueCall)[0].queue == "support"


def test_collect_terminator_pattern_and_inter_digit_timeout() -> None:
    call = Call(load("account_lookup"))
    call.enter()
    cmds = call.dial("123#")  # too short: invalid, retry prompt + prompt
    assert spoken(cmds)[:2] == [
        "Numer konta ma osiem cyfr.",
        "Podaj ośmiocyfrowy numer konta i zakończ krzyżykiem.",
    ]
    call.play_all()
    cmds = call.dial("1234")
    assert of(cmds, StartTimer)[-1].seconds == 3  # inter-digit timeout
    cmds = call.fire(after=3)  # entry ends after the pause: 4 digits -> invalid again
    assert spoken(cmds)[0] == "Numer konta ma osiem cyfr."
    call.play_all()
    cmds = call.fire(after=6)  # no input: third failure -> fallback queue
    assert of(cmds, EnqueueCall)[0].queue == "support"


# --- language switch and sub-flow --------------------------------------------


def test_language_switch_and_subflow_call_and_return() -> None:
    parent = Call(load("language_switch"))
    cmds = parent.enter()
    assert [(p.tts_text, p.voice) for p in of(cmds, Play)] == [
        ("Witamy. Aby kontynuować po polsku, wciśnij 1.", "pl"),
        ("For English, press 2.", "en"),
    ]
    parent.play_all()
    max_timer = parent.state.max_timer
    cmds = parent.dial("2")
    assert of(cmds, SetLanguage) == [SetLanguage("en-GB", "en")]
    assert CancelTimer(max_timer) in cmds  # the child owns the clock now
    (start,) = of(cmds, StartSubflow)
    assert (start.flow_id, start.variables, start.language) == (
        "faq",
        (("customer_segment", "retail"),),
        "en-GB",
    )
    assert parent.state.phase is Phase.SUBFLOW

    child = Call(
        load("faq"),
        parent.now,
        scope="main.faq",
        depth=1,
        deadline=start.deadline,
        language=start.language,
        voice=start.voice,
    )
    cmds = child.send(CallEntered("c1", CALLER, "+48221110000", start.variables), after=0.1)
    assert of(cmds, StartTimer)[0].seconds == pytest.approx(
        (start.deadline - child.now).total_seconds()
    )
    (play,) = of(cmds, Play)
    assert (play.media, play.language) == ("sound:custom/faq-topics", "en-GB")
    assert "main.faq" in play.playback_id
    child.play_all()
    cmds = child.dial("2")
    (finished,) = of(cmds, FlowFinished)
    assert finished.outcome == "returned" and not of(cmds, Hangup)

    cmds = parent.send(SubflowReturned(finished.outcome, finished.variables), after=0.1)
    assert of(cmds, StartTimer)  # max-time timer back with the remaining time
    (enqueue,) = of(cmds, EnqueueCall)
    assert enqueue.skills == ("en-GB", "technical_retail")


def test_subflow_that_ends_the_call_ends_the_parent() -> None:
    parent = Call(load("language_switch"))
    parent.enter()
    parent.play_all()
    parent.dial("1")
    cmds = parent.send(SubflowReturned("caller_hangup"))
    assert cmds == [FlowFinished("caller_hangup", "faq", cmds[0].variables)]


def test_time_runs_out_inside_the_subflow() -> None:
    parent = Call(load("language_switch"))
    parent.enter()
    parent.play_all()
    (start,) = of(parent.dial("1"), StartSubflow)
    parent.now = start.deadline  # the child used all the time and returned
    cmds = parent.send(SubflowReturned("returned", (("topic", "billing"),)))
    assert of(cmds, Hangup) == [Hangup("max_time")]


# --- guards ------------------------------------------------------------------


def test_prompt_guard_ends_a_playback_that_never_reports() -> None:
    flow = flow_from(
        {
            "start": "p",
            "settings": {"prompt_timeout_s": 20},
            "nodes": {
                "p": {"type": "play", "prompt": {"sound": "x"}, "next": "end"},
                "end": {"type": "hangup"},
            },
        }
    )
    call = Call(flow)
    cmds = call.enter()
    (play,) = of(cmds, Play)
    assert of(cmds, StartTimer)[1].seconds == 20
    cmds = call.fire(after=20)
    assert cmds[0] == StopPlayback(play.playback_id)
    assert of(cmds, Hangup) == [Hangup("normal")]


def test_stale_timer_is_ignored() -> None:
    call = Call(load("main_menu"))
    call.enter()
    guard = call.state.timer
    call.play_all()  # guard cancelled, menu prompt playing
    assert call.send(TimerFired(guard)) == []


def test_recording_that_never_ends_is_stopped() -> None:
    flow = flow_from(
        {
            "start": "r",
            "nodes": {
                "r": {
                    "type": "record",
                    "variable": "msg",
                    "max_duration_s": 30,
                    "beep": False,
                    "terminator": "",
                    "next": "end",
                },
                "end": {"type": "hangup"},
            },
        }
    )
    call = Call(flow)
    (record,) = of(call.enter(), RecordMessage)
    assert (record.beep, record.terminate_on) == (False, "none")
    cmds = call.fire(after=35)
    assert cmds[0].name == record.name and of(cmds, Hangup)
    assert call.state.variables["msg"] == record.name


def test_loop_without_input_is_cut_at_runtime() -> None:
    # the validator rejects this flow; the interpreter must still not spin forever
    flow = flow_from(
        {
            "start": "a",
            "nodes": {
                "a": {"type": "set", "variables": {"n": 1}, "next": "b"},
                "b": {
                    "type": "condition",
                    "branches": [{"when": {"weekday": ["tue"]}, "next": "a"}],
                    "else": "a",
                },
            },
        }
    )
    cmds = Call(flow).enter()
    assert of(cmds, Hangup) == [Hangup("ivr_loop")]
    assert cmds[-1].outcome == "error"


def test_naive_clock_is_rejected() -> None:
    call = Call(load("faq"))
    with pytest.raises(ValueError):
        step(call.state, CallEntered("c1", CALLER, "1"), datetime(2026, 1, 1))
