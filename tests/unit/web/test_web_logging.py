"""Logging in every process (``controlplane/logs.py``): a private file per process under
``<runtime>/log/`` plus stderr, one line per record, and the panel's logins in it."""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import free_port, until

from controlplane.config import PROJECT_ROOT, Settings
from controlplane.logs import setup_logging
from controlplane.seed import DEMO_DOMAIN

from .conftest import PASSWORD

LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (?P<process>[\w-]+)\[(?P<pid>\d+)\] "
    r"(?P<level>[A-Z]+) (?P<logger>[\w.]+): (?P<message>.*)$")


@pytest.fixture
def runtime_settings(settings: Settings, tmp_path: Path) -> Settings:
    return dataclasses.replace(settings, runtime_dir=tmp_path / "runtime")


@pytest.fixture
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def test_setup_logging_writes_a_private_file_one_line_per_record(runtime_settings,
                                                                 restore_root):
    log_dir = runtime_settings.runtime_dir / "log"
    log_dir.mkdir(parents=True)
    (log_dir / "web.log").write_text("")
    (log_dir / "web.log").chmod(0o644)  # as an older start left it
    path = setup_logging(runtime_settings, "web")
    assert path == log_dir / "web.log"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    setup_logging(runtime_settings, "web")  # again: replaces, never doubles
    logging.getLogger("centrala.test").warning("hello %s", "there")
    lines = [LINE.match(line) for line in path.read_text().splitlines()]
    assert len(lines) == 1 and lines[0] is not None
    assert lines[0]["process"] == "web" and int(lines[0]["pid"]) == os.getpid()
    assert (lines[0]["level"], lines[0]["logger"], lines[0]["message"]) == (
        "WARNING", "centrala.test", "hello there")


def test_panel_logins_reach_the_log_file(settings, app, client, login_form, runtime_settings,
                                         restore_root):
    path = setup_logging(runtime_settings, "web")
    client.environ_base["REMOTE_ADDR"] = "10.77.0.1"
    login_form(client, f"admin@{DEMO_DOMAIN}", "not the password")
    login_form(client, f"admin@{DEMO_DOMAIN}", PASSWORD)
    text = path.read_text()
    assert re.search(rf"INFO centrala\.security: security info login\.failed .*"
                     rf"actor=admin@{re.escape(DEMO_DOMAIN)} source=10\.77\.0\.1", text)
    assert re.search(r"INFO centrala\.security: security info login\.ok .*source=10\.77\.0\.1",
                     text)
    assert "not the password" not in text and PASSWORD not in text


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    return {**os.environ, "CENTRALA_RUNTIME_DIR": str(settings.runtime_dir),
            "CENTRALA_DATABASE_URL": settings.database_url,
            "CENTRALA_REDIS_URL": settings.redis_url, **extra}


def test_stderr_pointed_at_the_file_is_not_written_twice(runtime_settings):
    """``centrala up`` sends a daemon's stderr to its log file: each line must appear once."""
    log_file = runtime_settings.runtime_dir / "log" / "job.log"
    log_file.parent.mkdir(parents=True)
    code = ("import logging, sys; from controlplane.config import load_settings; "
            "from controlplane.logs import setup_logging; "
            "setup_logging(load_settings(), 'job'); logging.getLogger('x').warning('once'); "
            "print('raw stderr', file=sys.stderr)")
    with open(log_file, "ab") as err:
        subprocess.run([sys.executable, "-c", code], stderr=err, check=True, timeout=60,
                       env=_env(runtime_settings), cwd=PROJECT_ROOT)
    text = log_file.read_text()
    assert text.count("WARNING x: once") == 1
    assert "raw stderr" in text  # a crash's traceback still lands in the file
    piped = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, timeout=60, env=_env(runtime_settings), cwd=PROJECT_ROOT)
    assert "WARNING x: once" in piped.stderr  # not the file: stderr gets it as well
    assert log_file.read_text().count("WARNING x: once") == 2


@pytest.mark.parametrize("process, argv, wanted", [
    ("web", ["web"], r"INFO web\.server: panel on http://127\.0\.0\.1:\d+/"),
    ("worker", ["worker", "--burst"], r"INFO rq\.worker: "),
])
def test_daemons_set_up_logging(runtime_settings, world, process, argv, wanted):
    log_file = runtime_settings.runtime_dir / "log" / f"{process}.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "controlplane.cli", *argv],
        env=_env(runtime_settings, CENTRALA_WEB_PORT=str(free_port())), cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        until(lambda: log_file.exists() and re.search(wanted, log_file.read_text()),
              timeout=60, what=f"{process} to log to {log_file}")
        line = next(ln for ln in log_file.read_text().splitlines() if re.search(wanted, ln))
        assert LINE.match(line)["process"] == process
        assert stat.S_IMODE(log_file.stat().st_mode) == 0o600
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stderr:
            proc.stderr.close()
