"""A user with neither a phone nor a webphone cannot go ready (issue 12 item 5).

No daemon runs here: the refusal comes from the panel before anything is sent, fast
(not after the command timeout) and with the ``no_phone`` id.
"""

from __future__ import annotations

from sqlalchemy import delete

from controlplane.bus import COMMANDS_STREAM
from controlplane.db import transaction
from controlplane.models import PhoneEndpoint


def test_agent_without_phone_cannot_log_in_ready(app, client, login, csrf, person, world,
                                                 redis_client, demo_in_polish):
    app.config["ACD_COMMAND_TIMEOUT_S"] = 0.3
    uid, address = person
    login(address)
    for command in ("login", "ready"):
        resp = client.post(f"/api/v1/agents/{uid}/command", json={"command": command},
                           headers={"X-CSRF-Token": csrf(client)})
        assert resp.status_code == 409, resp.get_data(as_text=True)
        err = resp.get_json()["error"]
        assert err["id"] == "no_phone"
        assert "Nie masz telefonu" in err["message"]  # the tenant speaks Polish
    assert redis_client.xlen(COMMANDS_STREAM) == 0  # nothing reached the control plane
    page = client.post("/agent", data={"csrf_token": csrf(client), "command": "login"},
                       follow_redirects=True, headers={"Accept-Language": "en"})
    assert "Nie masz telefonu" in page.get_data(as_text=True)
    # With a phone assigned the command goes through to the control plane (none runs: 503).
    with transaction(app.extensions["centrala"].sessions) as s:
        s.add(PhoneEndpoint(tenant_id=world.demo_tenant, name=f"np-{uid}",
                            extension=f"9{uid:03d}", secret="y" * 32, user_id=uid))
    try:
        resp = client.post(f"/api/v1/agents/{uid}/command", json={"command": "login"},
                           headers={"X-CSRF-Token": csrf(client)})
        assert resp.status_code == 503
        assert resp.get_json()["error"]["id"] == "controlplane_not_answering"
    finally:  # no other test meets an extra phone
        with transaction(app.extensions["centrala"].sessions) as s:
            s.execute(delete(PhoneEndpoint).where(PhoneEndpoint.name == f"np-{uid}"))
