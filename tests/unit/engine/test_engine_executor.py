"""The executor: each command becomes its ARI request; read queries map ARI's 404s."""

from __future__ import annotations

from typing import Any

import pytest

from controlplane.engine import commands as c
from controlplane.engine.ari_ import AriError
from controlplane.engine.executor import Executor, request_for


class Recorder:
    app = "centrala"

    def __init__(self, answers: dict[str, Any] | None = None) -> None:
        self.requests: list[tuple[str, str, Any, dict[str, Any]]] = []
        self.answers = answers or {}

    def _answer(self, path: str) -> Any:
        got = self.answers.get(path)
        if isinstance(got, AriError):
            raise got
        return got

    async def get(self, path: str, **params: Any) -> Any:
        self.requests.append(("GET", path, None, params))
        return self._answer(path)

    async def post(self, path: str, json_body: Any = None, **params: Any) -> Any:
        self.requests.append(("POST", path, json_body, params))
        return self._answer(path)

    async def delete(self, path: str, **params: Any) -> Any:
        self.requests.append(("DELETE", path, None, params))
        return self._answer(path)


CASES = [
    (c.Answer("ch"), ("POST", "/channels/ch/answer", {}, None)),
    (c.Play("ch", "sound:x", "ch-prompt"), ("POST", "/channels/ch/play/ch-prompt",
                                            {"media": "sound:x"}, None)),
    (c.StartMoh("ch"), ("POST", "/channels/ch/moh", {}, None)),
    (c.StopMoh("ch"), ("DELETE", "/channels/ch/moh", {}, None)),
    (c.CreateBridge("b"), ("POST", "/bridges/b", {"type": "mixing", "name": "b"}, None)),
    (c.CreateBridge("b", "mixing,dtmf_events", "n"),
     ("POST", "/bridges/b", {"type": "mixing,dtmf_events", "name": "n"}, None)),
    (c.Hangup("ch", "busy"), ("DELETE", "/channels/ch", {"reason": "busy"}, None)),
    (c.StopPlayback("p"), ("DELETE", "/playbacks/p", {}, None)),
    (c.StopLiveRecording("r"), ("POST", "/recordings/live/r/stop", {}, None)),
    (c.Snoop("ch", "ch-amd-snoop", "app-amd"),
     ("POST", "/channels/ch/snoop", {"spy": "in", "app": "app-amd", "snoopId": "ch-amd-snoop"},
      None)),
    (c.Snoop("ch", "sv1-sv-snoop1", "app-sv", "both", "out"),
     ("POST", "/channels/ch/snoop", {"spy": "both", "app": "app-sv", "snoopId": "sv1-sv-snoop1",
                                     "whisper": "out"}, None)),
    (c.RemoveFromBridge("b", "ch"), ("POST", "/bridges/b/removeChannel", {"channel": "ch"}, None)),
    (c.Mute("ch"), ("POST", "/channels/ch/mute", {"direction": "in"}, None)),
    (c.Unmute("ch"), ("DELETE", "/channels/ch/mute", {"direction": "in"}, None)),
    (c.ContinueInDialplan("ch", "ctx", "s"),
     ("POST", "/channels/ch/continue", {"context": "ctx", "extension": "s", "priority": 1}, None)),
]


@pytest.mark.parametrize(("cmd", "expected"), CASES)
def test_each_command_becomes_its_request(cmd: c.Command, expected: Any) -> None:
    assert request_for(cmd, "centrala") == expected


def test_an_unknown_command_is_refused() -> None:
    with pytest.raises(TypeError):
        request_for(c.Command(), "centrala")


async def test_one_originate_for_every_caller() -> None:
    ari = Recorder()
    ex = Executor(ari)
    await ex.run(c.Originate("ch-agent", "PJSIP/demo-1001", "agent,ch", "600", 30,
                             (("X-Centrala-Call-Id", "ch"),)))
    await ex.run(c.Originate("p1", "PJSIP/1001@lab", "", None, 15, app="probe"))
    assert ari.requests == [
        ("POST", "/channels", {"variables": {"PJSIP_HEADER(add,X-Centrala-Call-Id)": "ch"}},
         {"endpoint": "PJSIP/demo-1001", "app": "centrala", "appArgs": "agent,ch",
          "callerId": "600", "timeout": 30, "channelId": "ch-agent"}),
        # no app args, no caller id: not sent at all
        ("POST", "/channels", None, {"endpoint": "PJSIP/1001@lab", "app": "probe",
                                     "timeout": 15, "channelId": "p1"}),
    ]


async def test_read_queries() -> None:
    gone = AriError("GET", "x", 404, '{"message":"Provided channel was not found"}')
    unset = AriError("GET", "x", 404, '{"message":"Provided variable was not found"}')
    ari = Recorder({"/channels": [{"id": "a"}], "/channels/a": {"id": "a"},
                    "/channels/b": gone, "/playbacks/p": gone, "/recordings/live/r": {},
                    "/channels/a/variable": {"value": "MACHINE/x/1"},
                    "/channels/u/variable": unset, "/channels/b/variable": gone})
    ex = Executor(ari)
    assert await ex.channels() == [{"id": "a"}]
    assert await ex.channel_exists("a") and not await ex.channel_exists("b")
    assert not await ex.playback_exists("p")
    assert await ex.live_recording_exists("r")
    assert await ex.channel_variable("a", "V") == "MACHINE/x/1"
    assert await ex.channel_variable("u", "V") is None
    with pytest.raises(AriError):
        await ex.channel_variable("b", "V")
