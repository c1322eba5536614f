"""The seed's failure-priority table (§ 8.2) as presets for a failure report (pure).

Each example of the table is a key and the priority it qualifies for: a user picks "no
inbound or outbound calls" and the report is Critical, as the contract says, without
knowing the table. ``other`` leaves the priority to the reporter (the operator may
requalify it). The labels (Polish from the seed, English from FEATURES.md § 9) live with
the pages (:mod:`controlplane.sla.http.labels`); this module only maps keys to priorities,
in the table's order.
"""

from __future__ import annotations

from controlplane.sla.terms import Priority

OTHER = "other"

PRESETS: dict[str, Priority] = {
    # Critical
    "login_over_60": Priority.CRITICAL,
    "routing_down": Priority.CRITICAL,
    "no_calls": Priority.CRITICAL,
    "no_sms": Priority.CRITICAL,
    "no_email": Priority.CRITICAL,
    "ready_over_60": Priority.CRITICAL,
    "login_page_down": Priority.CRITICAL,
    # High
    "reports_hang": Priority.HIGH,
    "random_errors": Priority.HIGH,
    "login_under_60": Priority.HIGH,
    "some_calls_unrouted": Priority.HIGH,
    "recording_download": Priority.HIGH,
    "integration_start": Priority.HIGH,
    "password_reset": Priority.HIGH,
    "webphone_down": Priority.HIGH,
    "random_logouts": Priority.HIGH,
    "mailbox_connect": Priority.HIGH,
    "no_tickets_from_mail": Priority.HIGH,
    # Medium
    "live_stats_wrong": Priority.MEDIUM,
    "one_report_fails": Priority.MEDIUM,
    "classifier": Priority.MEDIUM,
    "campaign_queue_edit": Priority.MEDIUM,
    "breaks": Priority.MEDIUM,
    "user_status": Priority.MEDIUM,
    "external_url": Priority.MEDIUM,
    # Low
    "typos": Priority.LOW,
    "layout": Priority.LOW,
    "configuration_help": Priority.LOW,
    "images": Priority.LOW,
    "ftp_access": Priority.LOW,
    "campaign_description": Priority.LOW,
}

KEYS = (*PRESETS, OTHER)


def priority_of(preset: str | None, chosen: str | None) -> Priority | None:
    """The priority of a report: the preset's, else the one the reporter chose."""
    if preset and preset != OTHER:
        return PRESETS[preset]
    return Priority(chosen) if chosen else None
