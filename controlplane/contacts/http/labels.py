"""Human labels of the values a contact's timeline shows that :mod:`web.labels` does not
know (recontact and HLR states, the fields a merge took over).

Lazy (``lazy_gettext`` under the name ``_`` so the catalog extraction finds them): built
at import, translated when a page renders them, in that request's language.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _

RECONTACT_STATUS = {"scheduled": _("Scheduled"), "moved": _("Moved"),
                    "cancelled": _("Cancelled"), "done": _("Done")}
HLR_STATUS = {"active": _("Active on a network"), "inactive": _("Not active"),
              "unknown": _("Unknown"), "error": _("Look-up failed")}
MOVED = {"first_name": _("first name"), "last_name": _("last name"), "email": _("e-mail")}
