"""Human labels of the desk's values (statuses, priorities, channels, history kinds, message
directions), and the icon each channel shows next to its messages.

Lazy (``lazy_gettext`` under the name ``_`` so the catalog extraction finds them): built at
import, translated when a page renders them, in that request's language.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _

STATUS = {"new": _("New"), "open": _("Open"), "pending": _("Pending"),
          "solved": _("Solved"), "closed": _("Closed"), "active": _("Active (new, open, pending)")}
PRIORITY = {"low": _("Low"), "normal": _("Normal"), "high": _("High"), "urgent": _("Urgent")}
CHANNEL = {"email": _("E-mail"), "sms": _("SMS"), "chat": _("Chat"), "call": _("Call"),
           "web": _("Web form"), "panel": _("Entered in the panel")}
# Plain characters, not images: no extra request, and the label is the title next to it.
ICON = {"email": "✉", "sms": "✆", "chat": "💬", "call": "☎", "web": "🌐", "panel": "✎"}
DIRECTION = {"in": _("Customer"), "out": _("Reply"), "note": _("Private note")}
DELIVERY = {"pending": _("Sending…"), "sent": _("Sent")}
EVENT = {"created": _("Ticket opened"), "status": _("Status"), "priority": _("Priority"),
         "category_id": _("Category"), "assignee_user_id": _("Assignee"),
         "queue_id": _("Queue"), "subject": _("Subject"), "time": _("Time logged"),
         "merged_into": _("Merged into"), "merged_from": _("Merged in"),
         "rule": _("Business rule")}
SORT = {"updated": _("Last change"), "created": _("Opened"), "number": _("Number"),
        "priority": _("Priority"), "status": _("Status"), "subject": _("Subject")}
PRESENCE = {"viewing": _("viewing"), "typing": _("typing a reply")}
TRIGGER = {"created": _("A ticket is opened"), "updated": _("A ticket is changed"),
           "message": _("The customer writes"), "time": _("Time passes (checked every minute)")}
