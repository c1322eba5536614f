"""Call records: pagination, filters, parameter errors, tenant and agent scope, recordings."""

from __future__ import annotations

import pytest

from controlplane.seed import DEMO_DOMAIN

ADMIN = f"admin@{DEMO_DOMAIN}"
AGENT1 = f"agent1@{DEMO_DOMAIN}"
ACME_ADMIN = "boss@acme.example"
ACME_AGENT = "bob@acme.example"


def records(client, **params):
    resp = client.get("/api/v1/calls/records", query_string=params)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()


def test_pagination_newest_first(client, login, world):
    login(ADMIN)
    first = records(client, per_page=10)
    assert (first["total"], first["pages"], first["page"]) == (30, 3, 1)
    ids = [r["id"] for r in first["records"]]
    assert ids == list(reversed(world.demo_records))[:10]
    starts = [r["started_at"] for r in first["records"]]
    assert starts == sorted(starts, reverse=True)
    third = records(client, per_page=10, page=3)
    assert [r["id"] for r in third["records"]] == list(reversed(world.demo_records))[20:]
    assert records(client, per_page=10, page=4)["records"] == []


def test_default_page_size_is_50(client, login):
    login(ADMIN)
    body = records(client)
    assert body["per_page"] == 50
    assert len(body["records"]) == 30


def test_filter_by_date_range(client, login, world):
    login(ADMIN)
    # Records start every 6 h from 2025-03-01 08:00 UTC: 08, 14, 20 on the 1st; 02, 08 ... after.
    day = records(client, **{"from": "2025-03-02", "to": "2025-03-02"})
    assert [r["id"] for r in day["records"]] == list(reversed(world.demo_records[3:7]))
    since = records(client, **{"from": "2025-03-08T00:00:00Z"})
    assert [r["started_at"][:10] for r in since["records"]] == ["2025-03-08"] * 3
    until = records(client, to="2025-03-01T14:00:00")  # exclusive upper bound for datetimes
    assert [r["id"] for r in until["records"]] == [world.demo_records[0]]


def test_filter_by_number_substring(client, login, world):
    login(ADMIN)
    body = records(client, number="00017")
    assert [r["id"] for r in body["records"]] == [world.demo_records[17]]
    assert records(client, number="48221000001")["total"] == 30  # matches the DID
    assert records(client, number="%")["total"] == 0  # wildcards are literal


def test_filters_combine_and_survive_paging_links(client, login):
    login(ADMIN)
    resp = client.get("/calls/records?number=%2B48600&per_page=5&from=2025-03-01")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Page 1 of 6" in page
    assert (
        'href="/calls/records?page=2&amp;number=%2B48600&amp;per_page=5&amp;from=2025-03-01"'
        in page
    )


@pytest.mark.parametrize(
    "params, name",
    [
        ({"from": "2025-13-45"}, "from"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2025-02-30"}, "to"),
        ({"from": "2025-03-05", "to": "2025-03-01"}, "to"),
        ({"page": "two"}, "page"),
        ({"page": "0"}, "page"),
        ({"per_page": "5000"}, "per_page"),
        ({"number": "1" * 65}, "number"),
    ],
)
def test_bad_params_are_400_naming_the_parameter(client, login, params, name):
    login(ADMIN)
    resp = client.get("/api/v1/calls/records", query_string=params)
    assert resp.status_code == 400
    error = resp.get_json()["error"]
    assert error["id"] == "bad_parameter"
    assert error["message"].startswith(f"parameter '{name}'")
    assert error["details"]["parameter"] == error["details"]["field"] == name
    assert [e["field"] for e in error["details"]["errors"]] == [name]


def test_bad_date_on_page_is_400_with_message(client, login):
    login(ADMIN)
    resp = client.get("/calls/records?from=2025-13-45")
    assert resp.status_code == 400
    assert "parameter &#39;from&#39;" in resp.get_data(as_text=True)


def test_page_shows_columns(client, login, world):
    login(ADMIN)
    page = client.get("/calls/records?per_page=50").get_data(as_text=True)
    for header in (
        "Start (UTC)",
        "Direction",
        "Caller",
        "Callee",
        "DID",
        "Agent",
        "Answered",
        "Duration",
        "Billsec",
        "Hangup cause",
        "Recording",
    ):
        assert f"{header}</th>" in page
    assert "2025-03-08 14:00:00" in page  # newest
    assert "Agent1" in page  # agent name joined from the phone endpoint
    assert "1:05" in page and "Normal Clearing" in page
    assert f'href="/calls/records/{world.demo_recording}/recording"' in page


def test_agent_sees_only_calls_on_own_phone(client, login, world):
    login(AGENT1)
    body = records(client)
    assert body["total"] == 15
    assert {r["agent_endpoint"] for r in body["records"]} == {world.agent1_endpoint}
    page = client.get("/calls/records").get_data(as_text=True)
    assert world.agent2_endpoint not in page


def test_tenants_never_see_each_other(client, login, world):
    login(ACME_ADMIN)
    body = records(client, number="+48600")
    assert body["total"] == 3
    assert {r["id"] for r in body["records"]} == set(world.acme_records)
    page = client.get("/calls/records").get_data(as_text=True)
    assert "48221000001" not in page  # the demo DID


def test_recording_streams_wav_bytes(client, login, world):
    login(ADMIN)
    with client.get(f"/calls/records/{world.demo_recording}/recording") as resp:
        assert resp.status_code == 200
        assert resp.mimetype == "audio/wav"
        assert resp.data == world.demo_recording_bytes
        assert resp.data[:4] == b"RIFF"


def test_agent_gets_own_recording(client, login, world):
    login(AGENT1)
    with client.get(f"/calls/records/{world.demo_recording}/recording") as resp:
        assert resp.status_code == 200
        assert resp.data == world.demo_recording_bytes


def test_relative_recording_path_is_under_recordings_dir(client, login, world):
    login(ACME_AGENT)
    with client.get(f"/calls/records/{world.acme_recording}/recording") as resp:
        assert resp.status_code == 200
        assert resp.data[:4] == b"RIFF"


@pytest.mark.parametrize(
    "who, record",
    [
        (ACME_ADMIN, "demo_recording"),  # another tenant's record
        (ADMIN, "acme_recording"),  # and the other way round
        (f"agent2@{DEMO_DOMAIN}", "demo_recording"),  # another agent's call
        (ADMIN, "outside_recording"),  # path escapes the recordings dir
    ],
)
def test_recording_not_visible_is_404(client, login, world, who, record):
    login(who)
    with client.get(f"/calls/records/{getattr(world, record)}/recording") as resp:
        assert resp.status_code == 404
        assert b"RIFF" not in resp.data


def test_recording_of_record_without_file_or_unknown_record_is_404(client, login, world):
    login(ADMIN)
    assert client.get(f"/calls/records/{world.demo_records[1]}/recording").status_code == 404
    assert client.get("/calls/records/999999/recording").status_code == 404


def test_api_gives_recording_url(client, login, world):
    login(ADMIN)
    body = records(client, per_page=200)
    by_id = {r["id"]: r for r in body["records"]}
    assert by_id[world.demo_recording]["recording_url"] == (
        f"/calls/records/{world.demo_recording}/recording"
    )
    assert by_id[world.demo_records[1]]["recording_url"] is None


def test_records_show_the_platforms_answer_and_the_carriers_seconds(client, login):
    """Beside the agent's answer and talk time (answered_at, billsec_s)."""
    login(ADMIN)
    row = records(client, per_page=1)["records"][0]
    assert {"platform_answered_at", "answered_at", "carrier_billsec_s", "billsec_s"} <= set(row)
    page = client.get("/calls/records?per_page=5").get_data(as_text=True)
    assert "Carrier billsec</th>" in page and "Billsec</th>" in page


def test_a_call_sent_on_to_a_number_shows_that_legs_carrier_seconds(client, login, app, world):
    """A blind transfer or a consultation to a number is a second carrier leg: its seconds
    are in the API and under the caller's carrier seconds on the page."""
    from controlplane.db import transaction
    from controlplane.models import CallRecord

    factory = app.extensions["centrala"].sessions
    rid = world.demo_records[-1]  # the newest: first on the page
    with transaction(factory) as s:
        s.get(CallRecord, rid).transfer_carrier_billsec_s = 68.4
    try:
        login(ADMIN)
        row = {r["id"]: r for r in records(client, per_page=5)["records"]}[rid]
        assert row["transfer_carrier_billsec_s"] == 68.4
        page = client.get("/calls/records?per_page=5").get_data(as_text=True)
        assert "+ 1:08 transferred" in page, page[-3000:]
    finally:
        with transaction(factory) as s:
            s.get(CallRecord, rid).transfer_carrier_billsec_s = None
