"""``centrala campaign create|import|list`` through ``controlplane.cli.main`` against a
real database: output and exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from controlplane.campaigns import cli as campaign_cli
from controlplane.cli import main
from controlplane.models import CampaignRecord
from controlplane.models.campaigns import MODES


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
    assert main(["campaign", "import", "spring", str(good), "--tenant", "a.example"]) == 0
    assert capsys.readouterr().out == "spring: 2 imported, 0 updated, 0 rejected\n"

    mixed = tmp_path / "mixed.csv"
    mixed.write_text(
        "phone,first_name,priority\n600100200,Ewa,1\n600100201,Ola,x\n600100202,Piotr,\n",
        encoding="utf-8",
    )
    assert main(["campaign", "import", "spring", str(mixed), "--tenant", "a.example"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{mixed}: line 3, column 'priority': priority 'x' is not a whole number 0-100",
        "spring: 1 imported, 1 updated, 1 rejected",
    ]
    with env() as s:  # the good rows were committed despite the rejected one
        assert s.scalar(select(func.count()).select_from(CampaignRecord)) == 3

    assert main(["campaign", "import", "autumn", str(good), "--tenant", "a.example"]) == 1
    assert "no campaign named 'autumn' (nothing was imported)" in capsys.readouterr().err
    assert (
        main(["campaign", "import", "spring", str(tmp_path / "no.csv"), "--tenant", "a.example"])
        == 1
    )
    assert "cannot read the file" in capsys.readouterr().err
    assert main(["campaign", "list", "--tenant", "a.example"]) == 0
    assert capsys.readouterr().out.splitlines()[1].split()[-1] == "3"
