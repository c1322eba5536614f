"""The streaming detector as live AMD uses it: behind a lock, fed batches in a worker thread.

Pure (no event loop, no network): :class:`LockedDetector` is what the media reader hands
frames to through ``asyncio.to_thread``; it counts the detector's CPU time.

``amd.detector`` pulls in SciPy (over a second to import). The daemon imports it in a
thread once it has connected (:func:`preload_detector`), so a restarted control plane takes
its calls back sooner; a detection imports it in a thread too if it is still missing, so no
call ever waits for an import on the event loop.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TYPE_CHECKING

from controlplane.amd_live.result import SAMPLE_RATE

if TYPE_CHECKING:
    from amd.detector import DetectorConfig
    from amd.verdict import Verdict


def preload_detector() -> None:
    """Import the detector and its numeric libraries (call in a thread)."""
    import scipy.special  # noqa: F401  (the dialer's estimators)

    import amd.detector  # noqa: F401


def detector_loaded() -> bool:
    """Whether :func:`preload_detector` has run (or the detector was imported otherwise)."""
    return "amd.detector" in sys.modules


class LockedDetector:
    """StreamingDetector behind a lock, fed in a worker thread."""

    def __init__(self, config: DetectorConfig | None) -> None:
        from amd.detector import StreamingDetector

        self.det = StreamingDetector(SAMPLE_RATE, config)
        self.lock = threading.Lock()
        self.cpu_s = 0.0

    def feed(self, frames: list[bytes]) -> Verdict | None:
        with self.lock:
            return self._feed(frames)

    def finish(self, frames: list[bytes]) -> Verdict:
        """End of audio: feed what is left, then decide with what was heard."""
        with self.lock:
            verdict = self._feed(frames)
            if verdict is not None:
                return verdict
            t = time.thread_time()
            verdict = self.det.finish()
            self.cpu_s += time.thread_time() - t
            return verdict

    def _feed(self, frames: list[bytes]) -> Verdict | None:
        t = time.thread_time()
        try:
            for frame in frames:
                verdict = self.det.feed(frame)
                if verdict is not None:
                    return verdict
            return None
        finally:
            self.cpu_s += time.thread_time() - t
