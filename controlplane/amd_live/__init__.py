"""Live answering-machine detection: the live AMD room.

On an answered call the called party's audio is snooped, sent over ``chan_websocket`` to
:class:`amd.detector.StreamingDetector`, and classified HUMAN / MACHINE / NOTSURE, with
Asterisk's ``AMD()`` alongside for comparison.

Pure (the ``pure`` import contract, mypy strict):

* :mod:`.result` -- the result type, the names of a detection's Asterisk objects, times;
* :mod:`.detector` -- the streaming detector behind a lock, and its preload.

I/O:

* :mod:`.detection` -- :func:`detect`: one detection, from snoop to teardown;
* :mod:`.objects` -- the Asterisk objects of a detection and their teardown;
* :mod:`.media` -- the media websocket, batched into the detector;
* :mod:`.reference` -- Asterisk's ``AMD()`` on a reference snoop, polled;
* :mod:`.probe` -- probe calls over the lab carrier (integration tests, ``bench/amd_live.py``).

The package keeps the public names (``from controlplane.amd_live import detect``).
"""

from controlplane.amd_live.detection import detect
from controlplane.amd_live.detector import preload_detector
from controlplane.amd_live.reference import app_amd
from controlplane.amd_live.result import AMD_CONTEXT, AMD_RESULT_VAR, LiveAmdResult, object_ids

__all__ = [
    "AMD_CONTEXT",
    "AMD_RESULT_VAR",
    "LiveAmdResult",
    "app_amd",
    "detect",
    "object_ids",
    "preload_detector",
]
