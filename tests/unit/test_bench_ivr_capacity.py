"""Pure parts of the IVR capacity bench: SIPp scenario/files, py-spy summaries, SQL kinds."""

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import cp_counters  # noqa: E402
import pyspy_summary  # noqa: E402
import sipp_kit  # noqa: E402

STAT_HEADER = "StartTime;TotalCallCreated;SuccessfulCall(P);SuccessfulCall(C);FailedCall(C)"


def test_sipp_stats_reads_the_last_cumulative_line(tmp_path: Path) -> None:
    (tmp_path / "ivr_capacity_42_.csv").write_text(
        f"{STAT_HEADER}\nt0;10;10;10;0\nt1;300;5;297;3\n")
    stats = sipp_kit.sipp_stats(tmp_path)
    assert stats["TotalCallCreated"] == "300"
    assert stats["SuccessfulCall(C)"] == "297"
    assert stats["FailedCall(C)"] == "3"


def test_sipp_stats_without_a_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(sipp_kit.BenchError):
        sipp_kit.sipp_stats(tmp_path)


def test_sipp_rtts_skips_the_header_and_keeps_every_call(tmp_path: Path) -> None:
    (tmp_path / "ivr_capacity_42_rtt.csv").write_text(
        "Date_ms;response_time_ms;rtd_no\n224.001;120;1\n252.001;48;1\n")
    assert sorted(sipp_kit.sipp_rtts(tmp_path)) == [48.0, 120.0]


def test_scenario_measures_invite_to_200_and_holds_for_d() -> None:
    s = sipp_kit.SCENARIO
    assert '<send retrans="500" start_rtd="1">' in s and "INVITE sip:[service]" in s
    assert '<recv response="200" rtd="1" rrs="true"/>' in s
    assert "<pause/>" in s  # the hold is SIPp's -d
    assert s.index("ACK [next_url]") < s.index("<pause/>") < s.index("BYE [next_url]")


def test_pyspy_summary_charges_library_work_to_the_innermost_project_frame(tmp_path: Path) -> None:
    profile = tmp_path / "p.txt"
    profile.write_text(
        "Thread._bootstrap (threading.py:1002);save (controlplane/calls/records.py:26);"
        "Session.flush (sqlalchemy/orm/session.py:1) 3\n"
        "run (controlplane/daemon.py:10);select (selectors.py:468) 1\n")
    out = pyspy_summary.summarise(pyspy_summary.parse(profile), top=10)
    assert out["samples"] == 4
    assert dict(out["threads"]) == {"worker threads": 75.0, "event loop (main thread)": 25.0}
    assert dict(out["project_owner"]) == {"save (controlplane/calls/records.py)": 75.0,
                                          "run (controlplane/daemon.py)": 25.0}
    assert dict(out["modules_exclusive"])["sqlalchemy"] == 75.0
    assert dict(out["modules_inclusive"])["controlplane/calls/records.py"] == 75.0


@pytest.mark.parametrize(("statement", "kind"), [
    ("SELECT call_record.id FROM call_record WHERE x", "sql.SELECT call_record"),
    ("INSERT INTO acd_queue_log (a) VALUES (?)", "sql.INSERT acd_queue_log"),
    ("UPDATE call_record SET status=?", "sql.UPDATE call_record"),
    ("PRAGMA journal_mode=WAL", "sql.PRAGMA"),
])
def test_sql_statement_kind(statement: str, kind: str) -> None:
    assert cp_counters._sql_statement_kind(statement) == kind
