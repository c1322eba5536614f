"""What every job that builds a file for one user to download shares (the recordings ZIP,
long reports): where the files go, how they are written, how old ones go away.

* A file is written under a temporary name (``<name>.part``) and renamed when complete
  (:func:`written`), so a download never sees half a file; a failure removes the part.
* Files live in ``<runtime>/exports/`` and are swept :data:`KEEP_S` after they were
  written (:func:`sweep`, called by the next job): by then their rows have expired and the
  download is refused anyway (the rows' ``expires_at`` is :data:`KEEP_S` after creation).
* Progress is the job's business (a ``done`` of ``total`` on its own row, committed as it
  goes, polled by the page).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

KEEP_S = 3600


def exports_dir(runtime_dir: Path) -> Path:
    return runtime_dir / "exports"


def sweep(folder: Path, pattern: str, now: datetime, keep_s: float = KEEP_S) -> int:
    """Remove the files matching ``pattern`` older than ``keep_s``; returns how many."""
    gone = 0
    for old in folder.glob(pattern):
        if now.timestamp() - old.stat().st_mtime > keep_s:
            old.unlink(missing_ok=True)
            gone += 1
    return gone


@contextmanager
def written(target: Path) -> Iterator[Path]:
    """``with written(path) as part:`` write ``part``; on success it becomes ``path``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    try:
        yield part
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    part.replace(target)
