"""Every ``/api/v1`` view declares what it takes (``@validated``), read from the URL map.

A route added without it would take unknown fields silently and answer bad input in a
shape of its own; this test names it. The allow-list below is the exception, each entry
with why, and it may not rot: an entry that no longer exists or is validated by now fails.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, jsonify

from web.validation import validated

API_PREFIX = "/api/v1"

# Endpoints allowed (for now) without ``centrala_schemas``.
ALLOWED_WITHOUT_SCHEMAS: set[str] = set()


def api_endpoints(app: Flask) -> dict[str, str]:
    """endpoint → rule of every route under ``/api/v1``."""
    return {
        rule.endpoint: rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule == API_PREFIX or rule.rule.startswith(API_PREFIX + "/")
    }


def unvalidated(app: Flask) -> dict[str, str]:
    """The ``/api/v1`` endpoints whose view carries no ``centrala_schemas``."""
    return {
        endpoint: rule
        for endpoint, rule in api_endpoints(app).items()
        if getattr(app.view_functions[endpoint], "centrala_schemas", None) is None
    }


def test_every_api_view_declares_its_schemas(app: Flask) -> None:
    missing = {e: r for e, r in unvalidated(app).items() if e not in ALLOWED_WITHOUT_SCHEMAS}
    assert not missing, (
        "these /api/v1 views take input without @validated (web/validation.py): "
        + ", ".join(f"{r} ({e})" for e, r in sorted(missing.items()))
    )


def test_the_allow_list_does_not_rot(app: Flask) -> None:
    endpoints = api_endpoints(app)
    missing = ALLOWED_WITHOUT_SCHEMAS - set(endpoints)
    assert not missing, f"allow-listed endpoints that do not exist: {missing}"
    validated_now = ALLOWED_WITHOUT_SCHEMAS - set(unvalidated(app))
    assert not validated_now, f"validated now, take them off the allow-list: {validated_now}"


@pytest.mark.parametrize("decorate", [False, True])
def test_a_new_route_without_validated_is_named(app: Flask, decorate: bool) -> None:
    def view() -> Any:
        return jsonify({})

    app.add_url_rule(f"{API_PREFIX}/test-new", "test_new", validated()(view) if decorate
                     else view)
    assert ("test_new" in unvalidated(app)) is not decorate
