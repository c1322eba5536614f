"""Import shim: preview campaigns' tables moved to :mod:`controlplane.dialer.preview_store`.

Kept only while ``web/campaigns*.py`` and :mod:`controlplane.dialer.preview` (both being
rewritten in parallel for issue 10) still import this name; delete it once ``grep -rn
preview_rows`` finds nothing else.
"""

from controlplane.dialer.preview_store import *  # noqa: F403
