"""The live AMD room's pure parts: object names, AMD()'s answer, times, the detector wrapper;
and the room's shape (public names kept, pure modules free of I/O imports)."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest

from amd.verdict import Label
from controlplane import amd_live
from controlplane.amd_live import detector, result

ROOM = Path(amd_live.__file__).parent
IO = {"asyncio", "aiohttp", "websockets", "sqlalchemy", "redis", "rq", "subprocess"}


def test_public_names_stay_importable_from_the_package() -> None:
    from controlplane.amd_live import (  # noqa: F401
        AMD_CONTEXT,
        LiveAmdResult,
        detect,
        object_ids,
        preload_detector,
    )

    assert AMD_CONTEXT == "centrala-amd"
    assert detect.__module__ == "controlplane.amd_live.detection"


def test_object_ids_name_every_object_after_the_channel() -> None:
    ids = result.object_ids("campaign-7")
    assert ids == {"snoop": "campaign-7-amd-snoop", "media": "campaign-7-amd-media",
                   "bridge": "campaign-7-amd-bridge", "ref": "campaign-7-amd-ref"}


@pytest.mark.parametrize(("value", "expected"), [
    ("MACHINE/LONGGREETING-1500-1500/1700000000.250", ("MACHINE", "LONGGREETING-1500-1500",
                                                        1700000000.25)),
    ("HUMAN//1700000000", ("HUMAN", "", 1700000000.0)),
    ("", None),
    ("/x/1", None),
    ("MACHINE/x", None),
    ("MACHINE/x/not-a-time", None),
])
def test_app_amd_answers_are_parsed(value: str, expected: object) -> None:
    assert result.parse_app_amd(value) == expected


def test_times_are_ms_from_the_answer() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert result.epoch(at) == at.timestamp()
    assert result.epoch(12.5) == 12.5
    assert result.ms_between(10.2504, 10.0) == 250
    assert result.ms_between(None, 10.0) is None


def test_a_party_gone_before_audio_is_notsure_hangup() -> None:
    got = result.hung_up_result(("channel:x-amd-snoop",))
    assert (got.centrala, got.cause, got.hung_up, got.frames) == (Label.NOTSURE, "HANGUP", True, 0)
    assert got.objects == ("channel:x-amd-snoop",)


def test_the_locked_detector_decides_on_silence_at_the_end_and_counts_cpu() -> None:
    det = detector.LockedDetector(None)
    silence = bytes(result.FRAME_BYTES)
    assert det.feed([silence] * 10) is None  # 200 ms of silence: too early to say
    verdict = det.finish([silence] * 5)
    assert verdict.label in set(Label)
    assert det.cpu_s > 0
    assert detector.detector_loaded()


@pytest.mark.parametrize("name", ["result", "detector"])
def test_pure_modules_import_no_io(name: str) -> None:
    tree = ast.parse((ROOM / f"{name}.py").read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
                for a in n.names}
    imported |= {(n.module or "").split(".")[0] for n in ast.walk(tree)
                 if isinstance(n, ast.ImportFrom)}
    assert imported & IO == set()


def test_every_module_of_the_room_is_under_400_lines() -> None:
    sizes = {p.name: len(p.read_text().splitlines()) for p in ROOM.glob("*.py")}
    assert len(sizes) >= 7
    assert {n: s for n, s in sizes.items() if s > 400} == {}


@pytest.mark.parametrize(("flags", "source"), [
    ({}, "detector"), ({"timed_out": True}, "timeout"), ({"hung_up": True}, "hangup"),
])
def test_a_decision_says_where_the_verdict_came_from(flags: dict[str, bool], source: str) -> None:
    got = result.AmdDecision.of(result.LiveAmdResult(Label.MACHINE, "GREETING", 900, 880, 30,
                                                     **flags))
    assert got == result.AmdDecision("MACHINE", "GREETING", source, 900)
    assert not got.human


def test_notsure_and_a_failed_detection_are_a_person() -> None:
    assert result.NOT_DECIDED.human and result.NOT_DECIDED.source == "error"
    assert result.AmdDecision.of(result.hung_up_result(())).human


async def test_the_service_decides_notsure_when_its_app_is_not_connected() -> None:
    from types import SimpleNamespace

    from controlplane.amd_live.service import LiveAmd

    amd = LiveAmd(SimpleNamespace(ari_app="centrala"))  # type: ignore[arg-type]
    assert amd.app == "centrala-amd"
    assert await amd.decide("campaign-1", None) == result.NOT_DECIDED
    assert await amd.compare("campaign-1", datetime.now(UTC)) is None


def test_a_probe_call_is_kept_as_one_call_record(tmp_path: Path) -> None:
    from sqlalchemy import select

    from controlplane.amd_live.store import save_probe
    from controlplane.db import make_engine, make_sessionmaker
    from controlplane.models import Base, CallRecord

    engine = make_engine(f"sqlite:///{tmp_path / 'probe.db'}")
    Base.metadata.create_all(engine)
    factory = make_sessionmaker(engine)
    answered = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    ended = datetime(2026, 1, 1, 12, 0, 4, 500000, tzinfo=UTC)
    got = result.LiveAmdResult(Label.MACHINE, "GREETING", 1200, 1180, 25,
                               app_amd_status="MACHINE", app_amd_cause="LONGGREETING",
                               app_amd_ms=2100)
    for _ in range(2):  # idempotent by call id
        save_probe(factory, "amdprobe-1", None, "2001234", "lab-carrier", answered, ended, got)
    with factory() as s:
        rows = s.scalars(select(CallRecord)).all()
    assert len(rows) == 1
    row = rows[0]
    assert (row.amd_verdict, row.amd_decision_ms, row.app_amd_status) == ("MACHINE", 1200,
                                                                         "MACHINE")
    assert row.billsec_s == row.carrier_billsec_s == 4.5
