"""Human labels of the campaign settings' values, for the campaign form's choices.

Lazy (``lazy_gettext`` under the name ``_`` so the catalog extraction finds them): they are
built at import and translated when a page renders them, in that request's language.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _

CALLER_ID_MODES = {"pool": _("Random number from the pool"),
                   "local": _("Local number from the pool (local presence)"),
                   "fixed": _("One fixed number")}
REGULATORS = {"uk": _("United Kingdom (Ofcom): 72 h / 24 h lockouts"),
              "us": _("United States (TSR)")}
RECONTACT_ORDERS = {"most_overdue": _("Most overdue first"),
                    "least_overdue": _("Least overdue first")}
OUTCOMES = {"no_answer": _("No answer"), "busy": _("Busy"),
            "machine": _("Answering machine"), "failed": _("Failed"),
            "abandoned": _("Abandoned (no agent free)")}
DAYS = {1: _("Mon"), 2: _("Tue"), 3: _("Wed"),
        4: _("Thu"), 5: _("Fri"), 6: _("Sat"),
        7: _("Sun")}


