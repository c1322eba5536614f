"""Prompts in the panel and the API: upload (converted by sox), list, listen, delete; a
prompt a published flow plays is not deleted; another tenant's is not found; roles."""

from __future__ import annotations

import io
import json
import uuid
import wave
from typing import Any

import soundfile
from flask.testing import FlaskClient
from sqlalchemy import select

from controlplane.db import make_engine, make_sessionmaker
from controlplane.models import AudioUpload
from controlplane.seed import DEMO_DOMAIN

ADMIN = f"admin@{DEMO_DOMAIN}"
SUPERVISOR = f"supervisor@{DEMO_DOMAIN}"
AGENT1 = f"agent1@{DEMO_DOMAIN}"
ACME_ADMIN = "boss@acme.example"


def wav(seconds: float, rate: int = 16000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(int(rate * seconds) * 2))
    return buf.getvalue()


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def api_upload(client: FlaskClient, name: str, data: bytes, filename: str = "p.wav"):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/prompts", data={"name": name, "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data", headers={"X-CSRF-Token": _csrf(client)})


def _csrf(client: FlaskClient) -> str:
    with client.session_transaction() as sess:
        token = sess.get("csrf")
    assert isinstance(token, str)
    return token


def flow_playing(prompt: str, flow_id: str) -> dict[str, Any]:
    return {"format_version": 1, "id": flow_id, "name": "x", "start": "hello",
            "nodes": {"hello": {"type": "play", "prompt": {"audio": prompt}, "next": "bye"},
                      "bye": {"type": "hangup"}}}


def test_upload_list_listen_and_delete(client: FlaskClient, login, settings) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    name = unique("welcome")
    resp = api_upload(client, name, wav(1.5))
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["prompt"] == {"name": name, "duration_s": 1.5, "used_by": []}
    listed = client.get("/api/v1/prompts").get_json()["prompts"]
    assert {"name": name, "duration_s": 1.5, "used_by": []} in listed
    audio = client.get(f"/api/v1/prompts/{name}/audio")
    assert audio.status_code == 200 and audio.mimetype == "audio/wav"
    body = audio.get_data()
    audio.close()  # send_file's file
    info = soundfile.info(io.BytesIO(body))
    assert info.samplerate == 8000 and info.channels == 1  # converted for the phone network
    page = client.get("/ivr/prompts").get_data(as_text=True)
    assert name in page and f"/ivr/prompts/{name}/audio" in page
    stored = _path(settings, name)
    resp = client.delete(f"/api/v1/prompts/{name}", headers={"X-CSRF-Token": _csrf(client)})
    assert resp.status_code == 200 and resp.get_json() == {"deleted": name}
    assert client.get(f"/api/v1/prompts/{name}").status_code == 404
    assert stored is not None and not stored.exists()  # the file went with the row


def _path(settings, name: str):  # type: ignore[no-untyped-def]
    from pathlib import Path

    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as s:
            row = s.scalar(select(AudioUpload).where(AudioUpload.name == name))
            return Path(row.path) if row is not None else None
    finally:
        engine.dispose()


def test_a_prompt_a_published_flow_plays_is_not_deleted(client: FlaskClient, login) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    name, flow = unique("greet"), unique("plays")
    assert api_upload(client, name, wav(0.5)).status_code == 201
    headers = {"X-CSRF-Token": _csrf(client)}
    saved = client.post("/api/v1/ivr-flows", data=json.dumps(flow_playing(name, flow)),
                        content_type="application/json", headers=headers)
    assert saved.status_code in (200, 201), saved.get_json()
    version = saved.get_json()["version"]["version"]
    published = client.post(f"/api/v1/ivr-flows/{flow}/versions/{version}/publish",
                            headers=headers)
    assert published.status_code == 200, published.get_json()
    assert client.get(f"/api/v1/prompts/{name}").get_json()["prompt"]["used_by"] == [flow]
    refused = client.delete(f"/api/v1/prompts/{name}", headers=headers)
    assert refused.status_code == 409
    body = refused.get_json()
    assert body["error"]["id"] == "in_use" and body["error"]["details"]["used_by"] == [f"IVR flow {flow}"]
    assert client.get(f"/api/v1/prompts/{name}").status_code == 200


def test_bad_uploads_are_refused_by_name(client: FlaskClient, login) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    bad_name = api_upload(client, "../etc", wav(0.5))
    assert bad_name.status_code == 400 and "name" in json.dumps(bad_name.get_json())
    not_audio = api_upload(client, unique("junk"), b"this is not a recording")
    assert not_audio.status_code == 400
    assert not_audio.get_json()["error"]["id"] == "audio_rejected"
    no_file = client.post("/api/v1/prompts", data={"name": unique("x")},
                          content_type="multipart/form-data",
                          headers={"X-CSRF-Token": _csrf(client)})
    assert no_file.status_code == 400 and "file" in json.dumps(no_file.get_json())


def test_tenants_and_roles(client: FlaskClient, login, login_form, app) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    name = unique("mine")
    assert api_upload(client, name, wav(0.5)).status_code == 201
    client.post("/logout", headers={"X-CSRF-Token": _csrf(client)})

    other = app.test_client()
    assert login_form(other, ACME_ADMIN).status_code == 302
    assert other.get(f"/api/v1/prompts/{name}").status_code == 404
    assert other.get(f"/api/v1/prompts/{name}/audio").status_code == 404
    assert name not in json.dumps(other.get("/api/v1/prompts").get_json())

    sup = app.test_client()
    assert login_form(sup, SUPERVISOR).status_code == 302
    assert sup.get(f"/api/v1/prompts/{name}").status_code == 200
    assert api_upload(sup, unique("no"), wav(0.5)).status_code == 403
    assert sup.delete(f"/api/v1/prompts/{name}",
                      headers={"X-CSRF-Token": _csrf(sup)}).status_code == 403

    agent = app.test_client()
    assert login_form(agent, AGENT1).status_code == 302
    assert agent.get("/api/v1/prompts").status_code == 403


def test_the_page_uploads_and_speaks_polish(client: FlaskClient, login, demo_in_polish) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    name = unique("powitanie")
    resp = client.post("/ivr/prompts", data={"csrf_token": _csrf(client), "name": name,
                                             "file": (io.BytesIO(wav(1.0)), "p.wav")},
                       content_type="multipart/form-data")
    assert resp.status_code == 303
    page = client.get("/ivr/prompts").get_data(as_text=True)
    assert "Zapowiedzi" in page and name in page
    assert f"Zapowiedź {name} zapisana" in page
