"""The human words of the SLA pages: the seed's failure examples (presets) and the events.

English msgids (FEATURES.md § 9), Polish msgstr from the seed's table (§ 8.2), in
``messages.po``; lazy, so each request gets its own language.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _

PRESET_LABELS = {
    "login_over_60": _("More than 60 % of users cannot log in"),
    "routing_down": _("Call routing does not work"),
    "no_calls": _("No inbound or outbound calls"),
    "no_sms": _("SMS cannot be sent or received"),
    "no_email": _("E-mail cannot be sent or received"),
    "ready_over_60": _("More than 60 % of users cannot go ready"),
    "login_page_down": _("The login page does not load"),
    "reports_hang": _("All reports hang while generating"),
    "random_errors": _("Random error messages for all users"),
    "login_under_60": _("Less than 60 % of users cannot log in"),
    "some_calls_unrouted": _("Some calls are not routed"),
    "recording_download": _("A recording cannot be downloaded"),
    "integration_start": _("An integration will not start although configured correctly"),
    "password_reset": _("Passwords cannot be reset"),
    "webphone_down": _("The webphone does not start for any user"),
    "random_logouts": _("Random logouts of all users"),
    "mailbox_connect": _("Mailboxes cannot be connected"),
    "no_tickets_from_mail": _("No tickets are created from incoming e-mail"),
    "live_stats_wrong": _("Live monitoring statistics are wrong or missing"),
    "one_report_fails": _("A single report cannot be generated"),
    "classifier": _("A classifier cannot be set or changed"),
    "campaign_queue_edit": _("A campaign or queue cannot be edited"),
    "breaks": _("Breaks cannot be managed"),
    "user_status": _("Problems changing a user's status"),
    "external_url": _("The system does not open an external URL"),
    "typos": _("Typos in the interface"),
    "layout": _("The user interface is displayed wrongly"),
    "configuration_help": _("Help with configuration"),
    "images": _("Images are not visible"),
    "ftp_access": _("No access to the FTP server"),
    "campaign_description": _("A campaign's description cannot be changed"),
    "other": _("Something else (choose the priority)"),
}
EVENT_LABELS = {"reacted": _("Qualified (reaction)"), "paused": _("Waiting for the customer"),
                "resumed": _("Resumed"), "repaired": _("Repaired")}
