"""Asterisk's own record of hang-ups (CEL, one JSON object a line; see ``dialplan.render``).

After a restart the control plane looks here for legs that hung up while it was
away, so their call records get the exact end time and cause instead of an
estimate. Only the tail of the file is read: restarts are about recent calls.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

TAIL_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Hangup:
    at: datetime
    cause: int


def read_hangups(path: Path, channel_ids: set[str], tail_bytes: int = TAIL_BYTES) -> dict[str, Hangup]:
    """The HANGUP event of each of ``channel_ids`` found in the last ``tail_bytes`` of ``path``."""
    found: dict[str, Hangup] = {}
    if not channel_ids or not path.exists():
        return found
    with path.open("rb") as f:
        size = f.seek(0, 2)
        f.seek(max(0, size - tail_bytes))
        data = f.read().decode(errors="replace")
    for line in data.splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue  # a partial first line, or a line being written
        uid = row.get("uniqueid")
        if row.get("eventtype") != "HANGUP" or uid not in channel_ids:
            continue
        try:
            extra = json.loads(row.get("eventextra") or "{}")
            cause = int(extra.get("hangupcause", 16)) or 16
            at = datetime.fromtimestamp(float(row["eventtime"]), UTC)
        except (ValueError, KeyError, TypeError):
            continue
        found[uid] = Hangup(at, cause)
    return found
