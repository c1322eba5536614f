"""Logging for every Centrala process: one file per process under ``<runtime>/log/``, plus stderr.

Each daemon (``web``, ``controlplane``, ``worker``) calls :func:`setup_logging` once at
start, so that a login, a refused command or a crash leaves a line with the time, the
process, the level and the logger. The file is created with mode 0600 (log lines may
name users and addresses; never secrets). ``centrala up`` already points a daemon's
stderr at that same file, so the stderr handler is left out when stderr *is* the file:
every line is written once.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from controlplane.config import Settings

FORMAT = "%(asctime)s {process}[%(process)d] %(levelname)s %(name)s: %(message)s"
# Our own handlers carry this attribute so a second call replaces them instead of doubling.
_MARK = "centrala_handler"


def log_path(settings: Settings, process: str) -> Path:
    """Where ``process`` writes its log."""
    return settings.runtime_dir / "log" / f"{process}.log"


def _open_private(path: Path) -> None:
    """Create ``path`` with mode 0600 if missing, and tighten it if it exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
    os.chmod(path, 0o600)


def _stderr_is(path: Path) -> bool:
    try:
        err, target = os.fstat(sys.stderr.fileno()), path.stat()
    except (OSError, ValueError, AttributeError):  # no real stderr (pytest capture, closed)
        return False
    return (err.st_dev, err.st_ino) == (target.st_dev, target.st_ino)


def setup_logging(settings: Settings, process: str) -> Path:
    """Configure the root logger for ``process``; returns the log file's path.

    Safe to call again: the handlers of an earlier call are replaced (others, such as a
    test runner's, are left alone).
    """
    path = log_path(settings, process)
    _open_private(path)
    formatter = logging.Formatter(FORMAT.format(process=process.replace("%", "%%")))
    handlers: list[logging.Handler] = [logging.FileHandler(path, encoding="utf-8")]
    if not _stderr_is(path):
        handlers.append(logging.StreamHandler(sys.stderr))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(old)
        old.close()
    for handler in handlers:
        handler.setFormatter(formatter)
        setattr(handler, _MARK, True)
        root.addHandler(handler)
    root.setLevel(settings.log_level)
    logging.captureWarnings(True)
    return path
