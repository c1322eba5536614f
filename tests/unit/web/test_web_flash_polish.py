"""Flash messages of the domain pages are translated: a guard over the code (no ``flash``
of a bare English literal or f-string) and a page rendered in Polish after a change."""

from __future__ import annotations

import ast
from pathlib import Path

from controlplane.seed import DEMO_DOMAIN

ROOT = Path(__file__).resolve().parents[3]
ADMIN = f"admin@{DEMO_DOMAIN}"


def _untranslated_flashes() -> list[str]:
    found = []
    files = [*ROOT.glob("controlplane/*/http/*.py"), *ROOT.glob("web/*.py")]
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "flash" and node.args):
                first = node.args[0]
                parts = [first.body, first.orelse] if isinstance(first, ast.IfExp) else [first]
                if any(isinstance(p, ast.JoinedStr | ast.Constant) for p in parts):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_no_page_flashes_a_bare_english_string() -> None:
    assert _untranslated_flashes() == []


def test_a_deleted_queue_is_said_in_polish(client, login, csrf, demo_in_polish) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    made = client.post("/api/v1/queues", json={"name": "t-flash-pl"},
                       headers={"X-CSRF-Token": csrf(client)})
    assert made.status_code == 201, made.get_json()
    qid = made.get_json()["queue"]["id"]
    gone = client.post(f"/queues/{qid}/delete", data={"csrf_token": csrf(client)})
    assert gone.status_code == 302
    page = client.get(gone.headers["Location"]).get_data(as_text=True)
    assert "kolejka t-flash-pl usunięta" in page and "queue t-flash-pl deleted" not in page


def test_ending_sessions_is_said_in_polish(client, login, csrf, person, demo_in_polish) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    uid = person[0]
    resp = client.post(f"/users/{uid}/sessions/revoke", data={"csrf_token": csrf(client)})
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "zakończone sesje: 0" in page and "session(s) ended" not in page
