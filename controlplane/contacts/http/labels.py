"""Human labels of the values a contact's timeline shows that :mod:`web.labels` does not
know (recontact and HLR states, the fields a merge took over).

Lazy (``lazy_gettext`` under the name ``_``, ``lazy_pgettext`` as ``pgettext`` so the catalog extraction finds them): built
at import, translated when a page renders them, in that request's language.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _
from flask_babel import lazy_pgettext as pgettext

RECONTACT_STATUS = {"scheduled": _("Scheduled"), "moved": _("Moved"),
                    "cancelled": _("Cancelled"), "done": _("Done")}
HLR_STATUS = {"active": _("Active on a network"), "inactive": _("Not active"),
              "unknown": _("Unknown"), "error": _("Look-up failed")}
MOVED = {"first_name": _("first name"), "last_name": _("last name"), "email": _("e-mail")}
# a ticket ("zgłoszenie") is neuter in Polish: its states need words of their own
TICKET_STATUS = {"new": pgettext("ticket", "New"), "open": pgettext("ticket", "Open"),
                 "pending": pgettext("ticket", "Waiting for the customer"),
                 "solved": pgettext("ticket", "Solved"), "closed": pgettext("ticket", "Closed")}
CHAT_STATUS = {"waiting": pgettext("chat", "Waiting"),
               "offered": pgettext("chat", "Offered to an agent"),
               "active": pgettext("chat", "In progress"), "ended": pgettext("chat", "Ended"),
               "missed": pgettext("chat", "Missed")}
CHANNEL = {"email": _("E-mail"), "sms": _("SMS"), "chat": _("Chat"), "call": _("Call"),
           "web": _("Web form"), "panel": _("Panel")}
