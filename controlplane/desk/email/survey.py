"""The satisfaction survey linked from a reply that solves a ticket.

Theory of operation. :func:`create` draws a random secret for a ticket, keeps only its
SHA-256 (``desk_survey.token_hash``) and returns the link ``<public_url>/desk/survey/<secret>``
that goes in the reply's footer: only the customer who got the mail can answer. :func:`find`
looks a secret up; :func:`answer` stores a score 1–5 and an optional comment (answering again
replaces the answer: the customer changed their mind). No login: the secret is the key.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlplane.models.base import utcnow
from controlplane.models.desk_mail import DeskSurvey
from controlplane.models.tickets import Ticket

PATH = "/desk/survey/"
COMMENT_MAX = 2000


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def link(public_url: str, secret: str) -> str:
    return f"{public_url.rstrip('/')}{PATH}{secret}"


def create(s: Session, ticket: Ticket) -> str:
    """A new survey of ``ticket``; returns its secret (not stored)."""
    secret = secrets.token_urlsafe(24)
    s.add(DeskSurvey(tenant_id=ticket.tenant_id, ticket_id=ticket.id, token_hash=_hash(secret),
                     comment=""))
    s.flush()
    return secret


def find(s: Session, secret: str) -> DeskSurvey | None:
    if not secret or len(secret) > 100:
        return None
    return s.scalar(select(DeskSurvey).where(DeskSurvey.token_hash == _hash(secret)))


def answer(s: Session, survey: DeskSurvey, score: int, comment: str) -> None:
    if not 1 <= score <= 5:
        raise ValueError("score must be 1 to 5")
    survey.score = score
    survey.comment = comment.strip()[:COMMENT_MAX]
    survey.answered_at = utcnow()
