"""A recording must end when its call ended, even when nobody was there to stop it.

While the control plane is down (a crash, a restart), Asterisk keeps a conversation's
bridge and its recording: when the caller hangs up in that window, the agent's leg stays in
the bridge and the recording goes on until the restarted daemon learns of the hang-up (from
Asterisk's hang-up log) and destroys the bridge. The tail recorded after the call's end is
not part of the conversation: it made recordings seconds longer than the billed call.

:func:`overrun` says how much was recorded after the end (the bridge is destroyed at
``destroyed_at``; the call ended at ``state.ended_at``); :func:`cut_tail` waits until
Asterisk has finished writing the file and cuts that much off its end, keeping the file's
owner and mode (Asterisk's user must still own it).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from datetime import datetime
from pathlib import Path

import soundfile

from controlplane.engine.executor import Executor

log = logging.getLogger(__name__)

# Below this the end was seen live (events arrive within milliseconds): nothing to cut.
LATE_S = 1.0
FINISH_WAIT_S = 5.0


def overrun(ended_at: datetime | None, destroyed_at: datetime) -> float:
    """Seconds recorded after the call ended (0 when the end was seen in time)."""
    if ended_at is None:
        return 0.0
    late = (destroyed_at - ended_at).total_seconds()
    return late if late >= LATE_S else 0.0


async def cut_tail(ari: Executor, name: str, path: Path, seconds: float) -> None:
    """Wait for Asterisk to finish the recording ``name``, then drop its last ``seconds``."""
    deadline = time.monotonic() + FINISH_WAIT_S
    while time.monotonic() < deadline:
        if not await ari.live_recording_exists(name):
            break
        await asyncio.sleep(0.05)
    else:
        log.warning("recording %s still being written after %.0f s: left whole", name,
                    FINISH_WAIT_S)
        return
    await asyncio.to_thread(_truncate, path, seconds)


def _truncate(path: Path, seconds: float) -> None:
    try:
        info = soundfile.info(str(path))
    except (RuntimeError, OSError) as err:
        log.warning("recording %s not readable, not cut: %s", path, err)
        return
    keep = max(0, info.frames - round(seconds * info.samplerate))
    data, rate = soundfile.read(str(path), frames=keep, dtype="int16", always_2d=True)
    st = path.stat()
    tmp = path.with_name(path.name + ".cut")
    soundfile.write(str(tmp), data, rate, subtype=info.subtype, format=info.format)
    os.chown(tmp, st.st_uid, st.st_gid)
    os.chmod(tmp, st.st_mode & 0o7777)
    tmp.replace(path)
    log.info("recording %s: cut %.2f s recorded after the call ended (%.2f s kept)",
             path.name, seconds, keep / rate)
