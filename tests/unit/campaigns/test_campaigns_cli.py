"""``centrala campaign create|import|import-status|list`` through ``controlplane.cli.main``
against a real database (and a real Redis and RQ worker for queued imports): output and
exit codes."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import redis
from helpers import until
from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from controlplane.campaigns import cli as campaign_cli
from controlplane.campaigns import csv_rows, import_runs
from controlplane.cli import main
from controlplane.models import CampaignRecord
from controlplane.models.campaigns import MODES
from controlplane.models.imports import ContactImport


@pytest.fixture
def env(db_url: str, factory, world, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CENTRALA_DATABASE_URL", db_url)
    monkeypatch.setenv("CENTRALA_RUNTIME_DIR", str(tmp_path / "runtime"))
    return factory


def test_mode_choices_match_the_table() -> None:
    assert campaign_cli.MODES == MODES


def test_create_and_list(env, capsys) -> None:  # type: ignore[no-untyped-def]
    args = [
        "campaign",
        "create",
        "Debt 2026",
        "--tenant",
        "A.example",
        "--mode",
        "predictive",
        "--queue",
        "sales",
        "--region",
        "uk",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert (
        out.startswith("campaign 'Debt 2026' created (#") and "predictive, draft, region GB" in out
    )
    assert main(args) == 1
    assert "'Debt 2026' already exists (nothing was changed)" in capsys.readouterr().err
    assert main(["campaign", "create", "x", "--tenant", "nowhere.example"]) == 1
    assert "no tenant with domain 'nowhere.example'" in capsys.readouterr().err
    assert main(["campaign", "create", "x", "--tenant", "a.example", "--region", "XX"]) == 1
    assert "unknown region 'XX'" in capsys.readouterr().err
    assert main(["campaign", "create", "x", "--tenant", "a.example", "--queue", "nope"]) == 1
    assert "no queue named 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["campaign", "create", "x", "--tenant", "a.example", "--mode", "turbo"])
    assert exit_.value.code == 2  # argparse refuses the mode

    assert main(["campaign", "list", "--tenant", "a.example"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "kind", "mode", "status", "records"]
    assert [line.split()[-4:] for line in lines[1:]] == [
        ["outbound", "predictive", "draft", "0"],
        ["outbound", "progressive", "draft", "0"],
    ]
    assert lines[1].startswith("Debt 2026") and lines[2].startswith("spring")
    assert main(["campaign", "list", "--tenant", "b.example"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == []


def test_import_exit_codes(env, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "good.csv"
    good.write_text("phone,first_name\n600100200,Ewa\n221234567,Jan\n", encoding="utf-8")
    assert main(["campaign", "import", "spring", str(good), "--tenant", "a.example", "--sync"]) == 0
    assert capsys.readouterr().out == "spring: 2 imported, 0 updated, 0 rejected\n"

    mixed = tmp_path / "mixed.csv"
    mixed.write_text(
        "phone,first_name,priority\n600100200,Ewa,1\n600100201,Ola,x\n600100202,Piotr,\n",
        encoding="utf-8",
    )
    assert main(["campaign", "import", "spring", str(mixed), "--tenant", "a.example", "--sync"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{mixed}: line 3, column 'priority': priority 'x' is not a whole number 0-100",
        "spring: 1 imported, 1 updated, 1 rejected",
    ]
    with env() as s:  # the good rows were committed despite the rejected one
        assert s.scalar(select(func.count()).select_from(CampaignRecord)) == 3

    assert main(["campaign", "import", "autumn", str(good), "--tenant", "a.example", "--sync"]) == 1
    assert "no campaign named 'autumn' (nothing was imported)" in capsys.readouterr().err
    assert (
        main(["campaign", "import", "spring", str(tmp_path / "no.csv"), "--tenant", "a.example"])
        == 1
    )
    assert "cannot read the file" in capsys.readouterr().err
    assert main(["campaign", "list", "--tenant", "a.example"]) == 0
    assert capsys.readouterr().out.splitlines()[1].split()[-1] == "3"


MIXED = "phone,first_name,priority\n600100200,Ewa,1\n600100201,Ola,x\n600100202,Piotr,\n"


def test_import_queued_on_a_real_worker(env, capsys, tmp_path: Path, redis_port: int,  # type: ignore[no-untyped-def]
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CENTRALA_REDIS_URL", f"redis://127.0.0.1:{redis_port}/0")
    connection = redis.Redis(port=redis_port)
    connection.flushall()
    mixed = tmp_path / "mixed.csv"
    mixed.write_text(MIXED, encoding="utf-8")
    assert main(["campaign", "import", "spring", str(mixed), "--tenant", "a.example",
                 "--detach"]) == 0
    out, err = capsys.readouterr()
    import_id = int(out.split("#")[1].split(":")[0])
    assert f"import #{import_id} queued on the worker" in err
    status = ["campaign", "import-status", str(import_id), "--tenant", "a.example"]
    assert main(status) == 3  # nobody has run it yet
    assert f"import #{import_id} queued" in capsys.readouterr().err
    SimpleWorker([Queue("default", connection=connection)], connection=connection).work(burst=True)
    assert main(status) == 1  # a row was rejected
    assert capsys.readouterr().out.splitlines() == [
        "mixed.csv: line 3, column 'priority': priority 'x' is not a whole number 0-100",
        f"import #{import_id}: 2 imported, 0 updated, 1 rejected",
    ]
    assert main(["campaign", "import-status", str(import_id), "--tenant", "b.example"]) == 1
    assert f"no import #{import_id}" in capsys.readouterr().err  # another tenant's
    connection.close()


def test_import_follows_the_job_until_it_ends(env, capsys, tmp_path: Path, redis_port: int,  # type: ignore[no-untyped-def]
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --sync the command waits for the worker; here a thread plays the worker,
    running the job's body as soon as the import is queued."""
    monkeypatch.setenv("CENTRALA_REDIS_URL", f"redis://127.0.0.1:{redis_port}/0")
    mixed = tmp_path / "mixed.csv"
    mixed.write_text(MIXED, encoding="utf-8")

    def worker() -> None:
        def queued() -> int | None:
            with env() as s:
                return s.scalar(select(ContactImport.id).where(ContactImport.job_id != ""))
        import_id = until(queued, timeout=30, interval=0.05, what="the import to be queued")
        import_runs.run(env, import_id)

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        code = main(["campaign", "import", "spring", str(mixed), "--tenant", "a.example"])
    finally:
        thread.join(timeout=60)
    out, err = capsys.readouterr()
    assert code == 1
    assert out.splitlines()[-1] == "spring: 2 imported, 0 updated, 1 rejected"
    assert "done: 3 rows read, 2 imported, 0 updated, 1 rejected" in err  # progress on stderr


def test_import_refuses_a_file_too_big_or_not_utf8(env, capsys, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes("phone,first_name\n600100200,Żaneta\n".encode("iso-8859-2"))
    assert main(["campaign", "import", "spring", str(latin), "--tenant", "a.example"]) == 1
    assert "line 2: not UTF-8 text (byte 27)" in capsys.readouterr().err
    monkeypatch.setattr(csv_rows, "MAX_FILE_BYTES", 10)
    assert main(["campaign", "import", "spring", str(latin), "--tenant", "a.example"]) == 1
    assert "more than the 10 allowed" in capsys.readouterr().err
    with env() as s:
        assert s.scalar(select(func.count()).select_from(ContactImport)) == 0
