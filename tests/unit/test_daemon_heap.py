"""The daemon takes its start-up heap out of the garbage collector's sight
(``controlplane.daemon.freeze_heap``), so that a full collection under load walks only the
objects made since, not every module, SciPy and SQLAlchemy object (a ~135 ms pause of the
event loop at 75 calls/s before). Run in a child process: freezing this one would change
what the other tests measure."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import gc
import controlplane.daemon as d
before = gc.get_freeze_count()
d.freeze_heap()
after = gc.get_freeze_count()
tracked = len(gc.get_objects())
print(before, after, tracked)
"""


def test_freeze_heap_moves_the_start_up_objects_out_of_the_collector() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         check=True, timeout=120).stdout.split()
    before, after, tracked = (int(v) for v in out)
    assert before == 0
    assert after > 50_000  # the daemon's imports alone are far more objects than that
    assert tracked < after / 10  # what the collector still walks is a small remainder
