"""Files readable only by the service: the runtime folder after ``stack.database``."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import select

from controlplane import stack
from controlplane.config import load_settings
from controlplane.db import make_engine, make_sessionmaker
from controlplane.models.security import SecurityEvent
from controlplane.security import file_modes


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def settings(tmp_path: Path):  # type: ignore[no-untyped-def]
    return load_settings({"CENTRALA_RUNTIME_DIR": str(tmp_path / "var")})


def _events(settings) -> list[SecurityEvent]:  # type: ignore[no-untyped-def]
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as s:
            return list(s.scalars(select(SecurityEvent).where(
                SecurityEvent.kind == "files.permissions")))
    finally:
        engine.dispose()


def test_after_database_only_the_service_reads_the_secrets(settings) -> None:  # type: ignore[no-untyped-def]
    old = os.umask(0o022)  # as careless as a default shell
    try:
        stack.database(settings)
        settings.secret("ari_password")  # secrets.json
        (settings.runtime_dir / "log").mkdir()
        (settings.runtime_dir / "log" / "web.log").write_text("a line\n")
        (settings.runtime_dir / "redis").mkdir()
        (settings.runtime_dir / "redis" / "users.acl").write_text("user x on #hash\n")
        stack.database(settings)  # a restart: tightens what appeared meanwhile
    finally:
        os.umask(old)
    runtime = settings.runtime_dir
    gid = stack._asterisk_gid(settings)
    if gid is None:  # no Asterisk provisioned here: nobody else needs to walk in
        assert mode(runtime) == 0o700
    else:
        assert mode(runtime) == 0o750 and runtime.stat().st_gid == gid
    assert mode(runtime / "centrala.db") == 0o600
    assert mode(runtime / "secrets.json") == 0o600
    assert mode(runtime / "demo-login.txt") == 0o600
    assert mode(runtime / "log") == 0o700 and mode(runtime / "log" / "web.log") == 0o600
    assert mode(runtime / "redis") == 0o700 and mode(runtime / "redis" / "users.acl") == 0o600
    # nothing under the runtime folder (outside Asterisk's own trees) is open to others
    for path in runtime.rglob("*"):
        assert mode(path) & 0o007 == 0, path


def test_loosened_files_are_tightened_and_audited(settings) -> None:  # type: ignore[no-untyped-def]
    stack.database(settings)
    before = len(_events(settings))
    os.chmod(settings.runtime_dir / "centrala.db", 0o644)
    os.chmod(settings.runtime_dir / "demo-login.txt", 0o666)
    stack.database(settings)
    assert mode(settings.runtime_dir / "centrala.db") == 0o600
    assert mode(settings.runtime_dir / "demo-login.txt") == 0o600
    events = _events(settings)
    assert len(events) == before + 1
    detail = events[-1].detail
    # the two files, and SQLite's side files it made since with the database file's mode
    assert events[-1].severity == "warning" and detail["count"] >= 2
    tightened = "\n".join(detail["tightened"])  # type: ignore[arg-type]
    assert "centrala.db: 0644→0600" in tightened and "demo-login.txt: 0666→0600" in tightened
    stack.database(settings)  # nothing to do: no new event
    assert len(_events(settings)) == before + 1


def test_plan_covers_sqlite_side_files_outside_the_runtime(tmp_path: Path) -> None:
    db = tmp_path / "elsewhere" / "c.db"
    db.parent.mkdir()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").write_text("x")
        os.chmod(f"{db}{suffix}", 0o644)
    runtime = tmp_path / "var"
    changes = file_modes.secure_runtime(runtime, f"sqlite:///{db}", None)
    assert {c.path.name for c in changes} >= {"c.db", "c.db-wal", "c.db-shm"}
    assert all(mode(Path(f"{db}{s}")) == 0o600 for s in ("", "-wal", "-shm"))
    assert mode(runtime) == 0o700
    assert file_modes.sqlite_path("postgresql://u:p@h/db") is None
    assert file_modes.sqlite_path("sqlite://") is None
