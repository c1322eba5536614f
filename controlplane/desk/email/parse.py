"""A raw e-mail as a ticket needs it (pure: the standard library's ``email`` only).

* **ids**: the Message-ID (a mail without one gets a synthetic, stable one: the SHA-256 of
  its bytes, so reading the same mail again is still a duplicate) and the ids it answers,
  newest first: In-Reply-To, then References from the end (the thread's chain);
* **text**: the first ``text/plain`` part that is not an attachment; without one, the HTML
  part turned into text (tags dropped, blocks as lines, entities decoded);
* **attachments**: every part with a file name or ``Content-Disposition: attachment``
  (name, type, size and bytes: the reader stores them);
* **automatic**: an auto-reply, a bounce or bulk mail (``Auto-Submitted`` other than
  ``no``, ``Precedence: bulk/junk/list``, ``X-Autoreply``, a delivery report, a sender
  like mailer-daemon@ or postmaster@, an empty Return-Path). It is still recorded on a
  ticket, but nothing may answer it automatically: two robots answering each other is a
  mail loop.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from html import unescape
from html.parser import HTMLParser

ROBOT_SENDERS = ("mailer-daemon", "postmaster", "no-reply", "noreply", "bounce")
MAX_IDS = 20  # References of a long thread: the newest are enough to find its ticket
_ID = re.compile(r"<[^<>\s]+>")


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class ParsedMail:
    message_id: str
    reply_to: tuple[str, ...]
    subject: str
    sender: str
    sender_name: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    text: str
    attachments: tuple[Attachment, ...]
    automatic: str  # why it is an automatic mail ("" for a person's)


def _ids(value: str | None) -> list[str]:
    return _ID.findall(str(value or ""))


def _addresses(msg: Message, name: str) -> tuple[str, ...]:
    values = [str(v) for v in msg.get_all(name, [])]
    return tuple(a.lower() for _n, a in getaddresses(values) if "@" in a)


class _Text(HTMLParser):
    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "blockquote", "table"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head"):
            self.skip += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head"):
            self.skip = max(0, self.skip - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    p = _Text()
    p.feed(html)
    p.close()
    lines = (re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in "".join(p.parts).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _content(part: Message) -> str:
    try:
        return str(part.get_content())  # type: ignore[attr-defined]
    except (LookupError, ValueError, AssertionError):
        raw = part.get_payload(decode=True)
        return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else ""


def _body(msg: EmailMessage) -> tuple[str, tuple[Attachment, ...]]:
    plain: str | None = None
    html: str | None = None
    files = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        name = part.get_filename()
        kind = part.get_content_type()
        if name or part.get_content_disposition() == "attachment":
            data = part.get_payload(decode=True)
            files.append(Attachment((name or "attachment")[:200], kind,
                                    data if isinstance(data, bytes) else b""))
        elif kind == "text/plain" and plain is None:
            plain = _content(part)
        elif kind == "text/html" and html is None:
            html = _content(part)
    if plain is not None and plain.strip():
        text = plain
    elif html is not None:
        text = html_to_text(html)
    else:
        text = plain or ""
    return text.replace("\r\n", "\n").strip(), tuple(files)


def _automatic(msg: Message, sender: str) -> str:
    auto = str(msg.get("Auto-Submitted", "no")).strip().lower()
    if auto and not auto.startswith("no"):
        return f"Auto-Submitted: {auto}"
    precedence = str(msg.get("Precedence", "")).strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    for header in ("X-Autoreply", "X-Autorespond"):
        if msg.get(header) is not None:
            return header
    if msg.get_content_type() == "multipart/report":
        return "delivery report"
    local = sender.partition("@")[0]
    if any(local.startswith(robot) for robot in ROBOT_SENDERS):
        return f"sender {sender}"
    if str(msg.get("Return-Path", "x")).strip() == "<>":
        return "empty Return-Path"
    return ""


def parse(raw: bytes) -> ParsedMail:
    """``raw`` (as IMAP hands it over) as a :class:`ParsedMail`."""
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    own = _ids(msg.get("Message-ID"))
    message_id = own[0] if own else f"<{hashlib.sha256(raw).hexdigest()[:40]}@synthetic.centrala>"
    chain: list[str] = []
    for ref in _ids(msg.get("In-Reply-To")) + list(reversed(_ids(msg.get("References")))):
        if ref not in chain and ref != message_id:
            chain.append(ref)
    name, sender = parseaddr(str(msg.get("From", "")))
    sender = sender.lower()
    text, files = _body(msg)
    return ParsedMail(message_id=message_id, reply_to=tuple(chain[:MAX_IDS]),
                      subject=" ".join(str(msg.get("Subject", "")).split()),
                      sender=sender, sender_name=unescape(name).strip(),
                      to=_addresses(msg, "To"), cc=_addresses(msg, "Cc"), text=text,
                      attachments=files, automatic=_automatic(msg, sender))
