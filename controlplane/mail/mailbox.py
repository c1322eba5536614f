"""Reading back what the local catcher kept (:mod:`controlplane.mail.catcher`).

Newest first; each message as :class:`Mail` (subject, recipients, time, the text part).
A file that cannot be parsed is listed with its name and an empty text rather than
hiding the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path

MAX_LIST = 200


@dataclass(frozen=True)
class Mail:
    name: str  # the file name: a stable id for the message
    to: tuple[str, ...]
    subject: str
    at: datetime
    text: str


def _text(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    return str(part.get_content()) if part is not None else ""


def read(path: Path) -> Mail:
    """One message file."""
    msg = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert isinstance(msg, EmailMessage)
    to = tuple(msg.get_all("X-Centrala-Rcpt") or [str(msg.get("To", ""))])
    try:
        at = parsedate_to_datetime(str(msg["Date"])).astimezone(UTC)
    except (TypeError, ValueError):
        at = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    return Mail(path.name, tuple(str(t) for t in to), str(msg.get("Subject", "")), at,
                _text(msg))


def messages(folder: Path, limit: int = MAX_LIST) -> list[Mail]:
    """The newest ``limit`` messages in ``folder`` (none when it does not exist yet)."""
    if not folder.is_dir():
        return []
    files = sorted((p for p in folder.glob("*.eml")), key=lambda p: p.name, reverse=True)
    out = []
    for path in files[:limit]:
        try:
            out.append(read(path))
        except (OSError, ValueError, AssertionError):
            out.append(Mail(path.name, (), "", datetime.fromtimestamp(0, UTC), ""))
    return out


def to_address(folder: Path, address: str) -> list[Mail]:
    """Messages sent to ``address``, newest first (tests: "the mail for jan@…")."""
    return [m for m in messages(folder) if address.lower() in (t.lower() for t in m.to)]
