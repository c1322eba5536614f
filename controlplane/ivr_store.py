"""Import shim: the IVR flow store moved into the IVR domain's room.

Flows and versions: :mod:`controlplane.ivr.store`; DID bindings and the new-call look-up:
:mod:`controlplane.ivr.did_store`; holiday calendars: :mod:`controlplane.ivr.calendar_store`;
errors: :mod:`controlplane.ivr.exceptions`. Kept while the modules other helpers own
(``web/ivr.py``, ``calls/ivr_glue.py``, ``daemon.py``, ``ivr_flows/cli.py``, benches,
integration tests) still import this name; delete it once ``grep -rn ivr_store`` finds
nothing else.
"""

from controlplane.ivr.calendar_store import *  # noqa: F403
from controlplane.ivr.did_store import *  # noqa: F403
from controlplane.ivr.exceptions import *  # noqa: F403
from controlplane.ivr.store import *  # noqa: F403
