"""Monthly API request counters per user against the tenant's limit (real Redis)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete

from controlplane.api_access import quota
from controlplane.db import transaction
from controlplane.models import ApiToken, Tenant

LIMIT = 3


@pytest.fixture
def small_limit(app: Flask, world: Any) -> Iterator[None]:
    factory = app.extensions["centrala"].sessions
    with transaction(factory) as s:
        tenant = s.get(Tenant, world.demo_tenant)
        assert tenant is not None
        tenant.api_monthly_limit = LIMIT
    yield
    with transaction(factory) as s:
        tenant = s.get(Tenant, world.demo_tenant)
        assert tenant is not None
        tenant.api_monthly_limit = 30000
        s.execute(delete(ApiToken))


def test_past_the_limit_the_api_answers_429_with_headers(
        app: Flask, client: FlaskClient, login: Callable[..., object],
        csrf: Callable[[FlaskClient], str], clock: Any, small_limit: None,
        redis_client: redis.Redis) -> None:
    clock.now = datetime(2100, 5, 31, 23, 0, tzinfo=UTC)
    login("admin@demo.centrala.local")
    made = client.post("/api/v1/tokens", json={"name": "q", "scope": "read"},
                       headers={"X-CSRF-Token": csrf(client)})
    assert "X-RateLimit-Limit" not in made.headers  # the panel's own requests are not counted
    secret = made.get_json()["token"]
    api = app.test_client()
    auth = {"Authorization": f"Bearer {secret}"}
    reset = str(int(datetime(2100, 6, 1, tzinfo=UTC).timestamp()))
    for remaining in (2, 1, 0):
        resp = api.get("/api/v1/calls/live", headers=auth)
        assert resp.status_code == 200
        assert (resp.headers["X-RateLimit-Limit"], resp.headers["X-RateLimit-Remaining"],
                resp.headers["X-RateLimit-Reset"]) == (str(LIMIT), str(remaining), reset)
    resp = api.get("/api/v1/calls/live", headers=auth)
    assert resp.status_code == 429
    error = resp.get_json()["error"]
    assert error["id"] == "rate_limited" and error["details"]["limit"] == LIMIT
    assert resp.headers["X-RateLimit-Remaining"] == "0"
    assert resp.headers["X-RateLimit-Reset"] == reset
    keys = redis_client.keys("centrala:web:api-requests:*")
    assert len(keys) == 1 and keys[0].endswith(":210005")
    # gone a week after the month
    assert redis_client.expiretime(keys[0]) == int(datetime(2100, 6, 8, tzinfo=UTC).timestamp())
    # a new month starts from zero
    clock.now = datetime(2100, 6, 1, 0, 0, 1, tzinfo=UTC)
    resp = api.get("/api/v1/calls/live", headers=auth)
    assert resp.status_code == 200 and resp.headers["X-RateLimit-Remaining"] == str(LIMIT - 1)


def test_the_tokens_page_shows_this_month_s_usage(
        app: Flask, client: FlaskClient, login: Callable[..., object],
        csrf: Callable[[FlaskClient], str], small_limit: None,
        demo_in_polish: None) -> None:
    login("admin@demo.centrala.local")
    secret = client.post("/api/v1/tokens", json={"name": "q", "scope": "read"},
                         headers={"X-CSRF-Token": csrf(client)}).get_json()["token"]
    app.test_client().get("/api/v1/agents/me", headers={"Authorization": f"Bearer {secret}"})
    page = client.get("/account/tokens").get_data(as_text=True)
    assert f"1 z {LIMIT}" in page


def test_counting_goes_on_when_redis_is_down() -> None:
    class Down:
        def pipeline(self, **_: object) -> Any:
            raise redis.ConnectionError("down")

    assert quota.count(Down(), 1, 1, 10, datetime(2026, 1, 1, tzinfo=UTC)) is None


@pytest.mark.parametrize(("now", "month", "reset"), [
    (datetime(2026, 1, 31, 23, 59, tzinfo=UTC), "202601", datetime(2026, 2, 1, tzinfo=UTC)),
    (datetime(2026, 12, 15, tzinfo=UTC), "202612", datetime(2027, 1, 1, tzinfo=UTC)),
    (datetime(2026, 2, 28, 12, tzinfo=UTC), "202602", datetime(2026, 3, 1, tzinfo=UTC)),
])
def test_month_bounds(now: datetime, month: str, reset: datetime) -> None:
    assert quota.month_bounds(now) == (month, reset)
