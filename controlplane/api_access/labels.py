"""The human names of token scopes, in the request's language (pages and the reference)."""

from __future__ import annotations

from flask_babel import LazyString, lazy_gettext

_ = lazy_gettext

SCOPE_LABELS: dict[str, LazyString] = {
    "read": _("read"),
    "write": _("read and write"),
    "admin": _("administration"),
}


def scope_label(scope: str | None) -> str:
    """``write`` → "read and write" (the value itself if unknown)."""
    return str(SCOPE_LABELS.get(scope or "", scope or ""))
