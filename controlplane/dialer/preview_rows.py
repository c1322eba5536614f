"""Import shim: preview campaigns' tables moved to :mod:`controlplane.dialer.preview_store`.

Kept only while ``web/campaigns.py`` and ``web/campaigns_api.py`` still import this name;
delete it once ``grep -rn preview_rows web`` finds nothing.
"""

from controlplane.dialer.preview_store import *  # noqa: F403
