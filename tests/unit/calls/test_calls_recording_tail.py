"""A recording that ran on after its call ended (the daemon was away) loses that tail."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import soundfile

from controlplane.calls import recording_tail

T0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("ended", "destroyed", "late"), [
    (None, T0, 0.0),                                   # no end known: nothing to cut
    (T0, T0 + timedelta(seconds=0.2), 0.0),            # seen live: events come in ms
    (T0, T0 + timedelta(seconds=0.99), 0.0),
    (T0, T0 + timedelta(seconds=2.5), 2.5),            # read from the hang-up log later
])
def test_overrun(ended: datetime | None, destroyed: datetime, late: float) -> None:
    assert recording_tail.overrun(ended, destroyed) == pytest.approx(late)


def test_truncate_keeps_the_head_owner_and_mode(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    rate = 8000
    head = np.full(rate * 3, 1000, dtype=np.int16)  # 3 s of conversation
    tail = np.full(rate * 2, -7, dtype=np.int16)  # 2 s after the end
    soundfile.write(str(path), np.concatenate([head, tail]), rate, subtype="PCM_16")
    os.chmod(path, 0o640)
    os.chown(path, 4321, 4322)

    recording_tail._truncate(path, 2.0)

    data, got_rate = soundfile.read(str(path), dtype="int16")
    assert got_rate == rate and len(data) == rate * 3
    assert (data == 1000).all()
    st = path.stat()
    assert (st.st_mode & 0o777, st.st_uid, st.st_gid) == (0o640, 4321, 4322)
    assert not path.with_name("call.wav.cut").exists()


def test_truncate_leaves_an_unreadable_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "broken.wav"
    path.write_bytes(b"RIFF....not a wave")
    recording_tail._truncate(path, 1.0)
    assert path.read_bytes() == b"RIFF....not a wave"
