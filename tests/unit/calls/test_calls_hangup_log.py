"""Reading Asterisk's CEL hang-up log (the format written by the rendered cel_custom.conf)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from controlplane.calls.hangup_log import read_hangups


def line(uid: str, t: float, cause: int, kind: str = "HANGUP") -> str:
    extra = json.dumps({"hangupcause": cause, "hangupsource": "", "dialstatus": ""})
    return json.dumps({"eventtype": kind, "eventtime": f"{t:.6f}", "uniqueid": uid,
                       "eventextra": extra})


def test_finds_wanted_hangups_and_skips_noise(tmp_path: Path) -> None:
    log = tmp_path / "cel.json"
    log.write_text("\n".join([
        'partial line from a truncated tail"}',
        line("a", 1795583543.084886, 16),
        line("b", 1795583544.5, 17),
        line("c", 1795583545.0, 16, kind="CHAN_END"),
        line("zz", 1795583546.0, 0),
    ]) + "\n")
    found = read_hangups(log, {"a", "b", "c", "zz", "missing"})
    assert set(found) == {"a", "b", "zz"}
    assert found["a"].at == datetime.fromtimestamp(1795583543.084886, UTC)
    assert found["b"].cause == 17
    assert found["zz"].cause == 16  # cause 0 (not given) is a normal clearing


def test_reads_only_the_tail(tmp_path: Path) -> None:
    log = tmp_path / "cel.json"
    log.write_text(line("old", 1.0, 16) + "\n" + "x" * 5000 + "\n" + line("new", 2.0, 16) + "\n")
    assert set(read_hangups(log, {"old", "new"}, tail_bytes=1000)) == {"new"}


def test_missing_file_is_empty(tmp_path: Path) -> None:
    assert read_hangups(tmp_path / "none.json", {"a"}) == {}
