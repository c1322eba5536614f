"""The catcher as ``make up`` runs it: the supervisor's program ``mailcatcher``
(``centrala mailcatcher`` through :func:`controlplane.stack.spawn`), a real process that
takes real SMTP and stops on SIGTERM; absent when CENTRALA_SMTP_URL names a server."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from helpers import free_port, until

from controlplane.config import load_settings
from controlplane.mail import mailbox
from controlplane.mail.send import send_mail
from controlplane.procs.programs import all_programs


def _names(env: dict[str, str]) -> list[str]:
    return [p.name for p in all_programs(load_settings(env), with_lab=False)]


def test_the_supervisor_runs_a_catcher_only_without_an_smtp_url(tmp_path: Path) -> None:
    names = _names({"CENTRALA_RUNTIME_DIR": str(tmp_path)})
    assert "mailcatcher" in names and names.index("mailcatcher") < names.index("worker")
    assert "mailcatcher" not in _names({"CENTRALA_RUNTIME_DIR": str(tmp_path),
                                        "CENTRALA_SMTP_URL": "smtp://mail.example:25"})


def test_the_catcher_process_keeps_mail_and_stops(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    env = {"CENTRALA_RUNTIME_DIR": str(tmp_path), "CENTRALA_MAIL_PORT": str(port)}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = load_settings(env)
    program = next(p for p in all_programs(settings, with_lab=False) if p.name == "mailcatcher")
    handle = program.spawn()
    try:
        def up() -> bool:
            try:
                send_mail(settings, "ktos@firma.pl", "przez proces", "treść")
                return True
            except Exception:  # noqa: BLE001 - not listening yet
                return False

        until(up, timeout=30)
        got = mailbox.to_address(settings.mail_dir, "ktos@firma.pl")
        assert [m.subject for m in got] == ["przez proces"]
        assert stat.S_IMODE(settings.mail_dir.stat().st_mode) == 0o700
        assert program.adopt() is not None  # a new supervisor would find it by its pid file
    finally:
        program.stop(handle)
    assert handle.exited()[0]
    assert not os.path.exists(settings.runtime_dir / "run" / "mailcatcher.pid") or \
        program.adopt() is None


def test_the_cli_side_imports_without_the_panel() -> None:
    """``centrala tenant create`` imports the room without ``web`` loaded first (an import
    cycle through ``web/__init__`` once broke it outside the test process)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", "import controlplane.tenants.service, "
                           "controlplane.tenants.cli, controlplane.jobs.mail"],
                          capture_output=True, text=True, env=dict(os.environ), timeout=60)
    assert done.returncode == 0, done.stderr
