"""``ivr validate`` command line."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ivr_flows.cli import main, register

EXAMPLES = Path(__file__).resolve().parents[3] / "ivr_flows" / "examples"


def test_examples_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", *map(str, sorted(EXAMPLES.glob("*.json")))]) == 0
    assert capsys.readouterr().out == "ok\n"


def test_errors_are_printed_with_file_and_pointer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "format_version": 1,
                "id": "bad",
                "start": "a",
                "nodes": {
                    "a": {"type": "play", "prompt": {"sound": "hi"}, "next": "b"},
                    "z": {"type": "hangup"},
                },
            }
        )
    )
    assert main(["validate", str(bad)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"{bad}#/nodes/a/next: node 'b' does not exist (use one of: a, z)",
        f"{bad}#/nodes/z: node 'z' cannot be reached from start (link it from another node or delete it)",
    ]


def test_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{nope")
    assert main(["validate", str(broken)]) == 1
    assert capsys.readouterr().out.startswith(f"{broken}#: cannot read JSON")


def test_queue_and_sounds_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "custom").mkdir()
    (tmp_path / "custom" / "welcome.wav").write_bytes(b"")
    path = str(EXAMPLES / "main_menu.json")
    assert main(["validate", path, "--queue", "sales", "--sounds-dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "#/nodes/support/queue: queue 'support' does not exist" in out
    assert "#/nodes/closed_hours/prompt/0/sound: sound file 'custom/closed' does not exist" in out
    assert "custom/welcome" not in out


def test_register_adds_ivr_command(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="centrala")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["ivr", "validate", str(EXAMPLES / "faq.json")])
    assert args.func(args) == 0
    assert capsys.readouterr().out == "ok\n"


def test_python_dash_m() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ivr_flows", "validate", str(EXAMPLES / "account_lookup.json")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert (result.returncode, result.stdout) == (0, "ok\n")
