"""Import shim: the IVR flow store moved into the IVR domain's room.

Flows and versions: :mod:`controlplane.ivr.store`; DID bindings and the new-call look-up:
:mod:`controlplane.ivr.did_store`; holiday calendars: :mod:`controlplane.ivr.calendar_store`;
errors: :mod:`controlplane.ivr.exceptions`. Kept only while ``web/ivr.py`` still imports
this name (everything else imports the room's modules); delete it, and its test in
``tests/unit/ivr_store``, once ``grep -rn ivr_store web`` finds nothing.
"""

from controlplane.ivr.calendar_store import *  # noqa: F403
from controlplane.ivr.did_store import *  # noqa: F403
from controlplane.ivr.exceptions import *  # noqa: F403
from controlplane.ivr.store import *  # noqa: F403
