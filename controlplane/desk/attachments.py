"""Attachments of tickets' messages: what the thread lists and the file a download sends.

The mail reader stores each attachment of an e-mail under
``<runtime>/desk/attachments/<tenant>/<ticket>/`` and lists it in the message's ``meta``
(``name``, ``type``, ``size``, ``file`` relative to the runtime folder;
:func:`controlplane.desk.email.reader.store_attachments`). Here: the list as the API and
the page show it (by position in the message, never the stored path), and the one file
of a position — refused as "not found" when the message has no such attachment, when the
stored path leads anywhere but the tenant's own attachments folder, or when the file is
gone. Who may see the ticket is the caller's check (:func:`controlplane.desk.store.ticket`).
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controlplane.desk.exceptions import AttachmentNotFound
from controlplane.models.tickets import TicketMessage

# type/subtype as RFC 6838 allows (lower-cased by the parser), nothing else in the header
MIME = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")
NAME_MAX = 120


@dataclass(frozen=True)
class AttachmentFile:
    path: Path
    name: str  # safe for Content-Disposition
    content_type: str


def listed(meta: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The message's attachments as shown: ``index``, ``name``, ``type``, ``size``."""
    out = []
    for i, a in enumerate((meta or {}).get("attachments") or []):
        if isinstance(a, dict):
            out.append({"index": i, "name": str(a.get("name") or ""),
                        "type": content_type(a.get("type"), str(a.get("name") or "")),
                        "size": int(a.get("size") or 0), "stored": bool(a.get("file"))})
    return out


def safe_name(name: str) -> str:
    """A file name to offer: no folders, control or format characters, quotes or
    backslashes; at most :data:`NAME_MAX` characters keeping the extension; never empty."""
    base = re.split(r"[\\/]", name)[-1]
    base = "".join(ch for ch in unicodedata.normalize("NFC", base)
                   if unicodedata.category(ch)[0] not in ("C", "Z") or ch == " ")
    base = re.sub(r'["\';]+', "_", base).strip(" .")
    if len(base) > NAME_MAX:
        stem, dot, ext = base.rpartition(".")
        ext = ext if dot and len(ext) <= 10 else ""
        base = (stem if dot else base)[:NAME_MAX - len(ext) - 1].rstrip(" .") + (
            "." + ext if ext else "")
    return base or "attachment"


def content_type(declared: object, name: str) -> str:
    """The declared type when it is a well-formed one, else guessed from the name, else
    ``application/octet-stream``."""
    text = str(declared or "").strip().lower()
    if MIME.match(text) and text != "application/octet-stream":
        return text
    guessed, _enc = mimetypes.guess_type(name)
    return guessed or "application/octet-stream"


def file_of(runtime_dir: Path, tenant_id: int, message: TicketMessage,
            index: int) -> AttachmentFile:
    """The file of the message's ``index``-th attachment (see the module docstring)."""
    entries = (message.meta or {}).get("attachments") or []
    if not 0 <= index < len(entries) or not isinstance(entries[index], dict):
        raise AttachmentNotFound(f"message {message.id} has no attachment {index}")
    entry = entries[index]
    folder = (runtime_dir / "desk" / "attachments" / str(tenant_id)).resolve()
    stored = str(entry.get("file") or "")
    path = (runtime_dir / stored).resolve() if stored else folder
    if not stored or not path.is_relative_to(folder) or not path.is_file():
        raise AttachmentNotFound(f"the file of attachment {index} of message {message.id} "
                           "is not kept")
    name = str(entry.get("name") or "")
    return AttachmentFile(path, safe_name(name), content_type(entry.get("type"), name))
