"""The bus (``controlplane.bus``): the command table, the senders, and one definition of
every Redis name."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest

from controlplane import bus, daemon
from controlplane.security import command_rules as rules

ROOT = Path(__file__).resolve().parents[3]


async def _noop(got: bus.Received) -> None:
    return None


def test_the_table_binds_only_when_every_command_has_exactly_one_handler() -> None:
    every = dict.fromkeys(bus.COMMANDS, _noop)
    assert isinstance(bus.bind(every), bus.CommandTable)
    missing = {k: v for k, v in every.items() if k != "calls.record"}
    with pytest.raises(ValueError, match=r"no handler for \['calls.record'\]"):
        bus.bind(missing)
    with pytest.raises(ValueError, match=r"unknown commands \['calls.hold'\]"):
        bus.bind({**every, "calls.hold": _noop})


def test_the_daemon_has_a_handler_for_every_command() -> None:
    # None services: the table is still complete (their commands log and do nothing).
    table = daemon.CommandHandlers(None, None).table()  # type: ignore[arg-type]
    for name in bus.COMMANDS:
        assert table.handler(bus.Received({"cmd": name}, admin=True, actor="admin"))


async def test_a_handler_is_found_by_name_and_admin_only_commands_only_from_the_admin_stream(
) -> None:
    seen: list[str] = []

    def recorder(name: str) -> bus.Handler:
        async def handle(got: bus.Received) -> None:
            seen.append(name)
        return handle

    table = bus.bind({name: recorder(name) for name in bus.COMMANDS})
    assert table.handler(bus.Received({"cmd": "nope"}, admin=True, actor="admin")) is None
    assert table.handler(bus.Received({}, admin=True, actor="admin")) is None
    place = {"cmd": "dialer.place", "number": "100"}
    assert table.handler(bus.Received(place, admin=False, actor="a@b")) is None
    assert table.handler(bus.Received(place, admin=True, actor="admin")) is not None
    for name in ("acd.reload", "dialer.preview_dial"):
        handler = table.handler(bus.Received({"cmd": name}, admin=False, actor="a@b"))
        assert handler is not None
        await handler(bus.Received({"cmd": name}, admin=False, actor="a@b"))
    assert seen == ["acd.reload", "dialer.preview_dial"]


def test_the_guard_reads_the_same_table() -> None:
    panel = {n for n, c in bus.COMMANDS.items() if not c.admin_only}
    assert set(rules.FIELDS) == panel == set(rules.RULES)
    assert rules.FIELDS["dialer.preview_dial"] == {"user_id": int, "campaign_id": int,
                                                   "record_id": int}
    assert set(rules.NOT_ON_STREAM) == {"dialer.place"}
    # every agent action is allowed by one of the rule lines, and there are no others
    assert (rules.SELF_AGENT_COMMANDS | rules.SUPERVISOR_AGENT_COMMANDS
            == rules.AGENT_COMMANDS == set(bus.AGENT_ACTIONS))


class FakeRedis:
    """The two calls the senders make, recorded; ``reply`` is what BLPOP returns."""

    def __init__(self, reply: dict[str, Any] | None) -> None:
        self.reply = reply
        self.added: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        self.waited: list[tuple[list[str], float]] = []

    def xadd(self, stream: str, fields: dict[str, str], **kw: Any) -> bytes:
        self.added.append((stream, json.loads(fields["data"]), kw))
        return b"1-0"

    def blpop(self, keys: list[str], timeout: float) -> tuple[bytes, bytes] | None:
        self.waited.append((keys, timeout))
        return None if self.reply is None else (keys[0].encode(), json.dumps(self.reply).encode())


def test_an_agent_command_waits_on_a_fresh_reply_key_until_its_deadline() -> None:
    r = FakeRedis({"ok": True, "status": "ready"})
    got = bus.send_agent_command(r, 1, 7, "ready", timeout_s=2.5, actor_id=7)
    assert got == {"ok": True, "status": "ready"}
    ((stream, sent, kw),) = r.added
    assert stream == bus.COMMANDS_STREAM and kw == {"maxlen": bus.COMMANDS_MAXLEN,
                                                    "approximate": True}
    assert sent["cmd"] == "acd.agent" and sent["actor_id"] == sent["user_id"] == 7
    assert sent["reply"].startswith(bus.REPLY_PREFIX) and r.waited == [([sent["reply"]], 2.5)]


def test_nobody_answering_and_unknown_commands_are_errors() -> None:
    r = FakeRedis(None)
    with pytest.raises(bus.ControlPlaneNotAnswering,
                       match=r"no reply to dialer.preview_skip within 0.5 s"):
        bus.send_preview_command(r, "skip", tenant_id=1, user_id=2, campaign_id=3,
                                 record_id=4, timeout_s=0.5)
    assert r.added[0][1]["record_id"] == 4 and r.added[0][1]["actor_id"] == 2
    with pytest.raises(bus.BadCommand, match="unknown agent command 'dance'"):
        bus.send_agent_command(r, 1, 1, "dance", actor_id=1)
    with pytest.raises(ValueError, match="unknown preview command"):
        bus.send_preview_command(r, "redial", tenant_id=1, user_id=2, campaign_id=3)
    assert len(r.added) == 1  # nothing sent for either


def test_admin_commands_go_to_the_admin_stream() -> None:
    r = FakeRedis(None)
    assert bus.send_admin_command(r, {"cmd": "acd.reload", "tenant_id": 1}) == "1-0"
    assert r.added[0][0] == bus.ADMIN_STREAM


def test_live_call_round_trip_and_event_fields() -> None:
    call = bus.LiveCall("c1", 1, "inbound", "ringing", "100", "200", "200", None, "t0")
    assert bus.LiveCall.from_json(call.to_json()) == call
    assert json.loads(bus.event_fields("call.up", call_id="c1")["data"]) == {
        "type": "call.up", "call_id": "c1"}
    assert bus.acd_key(3, "stats") == "centrala:acd:3:stats"


def _key_literals(path: Path) -> list[tuple[int, str]]:
    """String constants that look like a Redis name (``centrala:<word>``), docstrings aside."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef
                                | ast.AsyncFunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings and re.match(r"centrala:[a-z]", node.value)]


def test_redis_names_are_written_only_in_the_bus() -> None:
    found = {f"{p.relative_to(ROOT)}:{line}": text
             for top in ("controlplane", "web") for p in sorted((ROOT / top).rglob("*.py"))
             if p != ROOT / "controlplane" / "bus.py" for line, text in _key_literals(p)}
    assert found == {}
    assert _key_literals(ROOT / "controlplane" / "bus.py")  # the test can see one
