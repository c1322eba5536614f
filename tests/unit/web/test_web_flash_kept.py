"""Two notices made before the next page is shown both reach it.

``flash()`` appends to the list already in the session; when that list was shared with
what the session store last saved, the change looked like no change and the second notice
was lost (the panel's server-side sessions, web.session_cookie).
"""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient
from werkzeug.test import TestResponse


def test_a_second_notice_before_the_page_is_not_lost(
        client: FlaskClient, login: Callable[..., TestResponse],
        csrf: Callable[[FlaskClient], str]) -> None:
    login("admin@demo.centrala.local")
    try:
        # each saves, says so in the language just chosen, and redirects to a page not shown
        for choice in ("pl", "en"):
            resp = client.post("/account/language",
                               data={"locale": choice, "csrf_token": csrf(client)})
            assert resp.status_code == 302
        page = client.get("/account/password").get_data(as_text=True)
        assert "język zapisany" in page
        assert "language saved" in page
    finally:
        client.post("/account/language", data={"locale": "", "csrf_token": csrf(client)})
