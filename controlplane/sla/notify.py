"""The incident mails: their Polish and English texts and the RQ job that sends them.

Queued through the job outbox by :mod:`controlplane.sla.incidents` in the transaction of
the change (so no mail is lost between commit and queue). The job runs outside the panel
(no flask-babel), so the texts live here, chosen by the tenant's language. It goes to the
tenant's active admins and to the reporter (a new report also to the support address),
each address once; it takes ids only
(STYLE.md §7) and reads the incident as it is when it runs. A retry may send a mail
twice, never lose one (the same as the link mails).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.config import Settings, load_settings
from controlplane.db import make_engine, make_sessionmaker
from controlplane.mail.send import send_mail
from controlplane.models import Role, Tenant, User
from controlplane.models.sla import SlaIncident, SlaSettings

log = logging.getLogger(__name__)

_WHAT = {
    "pl": {"reported": "przyjęto zgłoszenie awarii", "reacted": "awaria zakwalifikowana",
           "paused": "czekamy na Państwa odpowiedź", "resumed": "wznowiono obsługę",
           "repaired": "awaria usunięta"},
    "en": {"reported": "failure report received", "reacted": "failure qualified",
           "paused": "waiting for your answer", "resumed": "work resumed",
           "repaired": "failure repaired"},
}
_PRIORITY = {
    "pl": {"critical": "Krytyczny", "high": "Wysoki", "medium": "Średni", "low": "Niski"},
    "en": {"critical": "Critical", "high": "High", "medium": "Medium", "low": "Low"},
}
_BODY = {
    "pl": "Dzień dobry,\n\nzgłoszenie nr {id} ({tenant}): {what}.\n\nAwaria: {title}\n"
          "Priorytet: {priority}\nZgłosił(a): {reporter}\n\nTerminy reakcji i naprawy oraz "
          "historię zgłoszenia pokazuje panel: {link}\n",
    "en": "Hello,\n\nincident {id} ({tenant}): {what}.\n\nFailure: {title}\n"
          "Priority: {priority}\nReported by: {reporter}\n\nThe reaction and repair deadlines "
          "and the incident's history are in the panel: {link}\n",
}
_SUBJECT = {"pl": "[Centrala SLA] Zgłoszenie {id}: {what}",
            "en": "[Centrala SLA] Incident {id}: {what}"}


@dataclass(frozen=True)
class Text:
    subject: str
    body: str


def render(locale: str, what: str, *, incident_id: int, tenant: str, title: str,
           priority: str, reporter: str, link: str) -> Text:
    lang = locale if locale in _BODY else "en"
    values = {"id": incident_id, "tenant": tenant, "what": _WHAT[lang][what], "title": title,
              "priority": _PRIORITY[lang].get(priority, priority), "reporter": reporter,
              "link": link}
    return Text(_SUBJECT[lang].format(**values), _BODY[lang].format(**values))


def recipients(s: Session, incident: SlaIncident, what: str = "") -> list[str]:
    """The tenant's active admins and the reporter, each e-mail address once; a new report
    also goes to the support address of the tenant's SLA settings (§ 8.3: failures are
    reported to it by mail)."""
    users = s.scalars(select(User).where(User.tenant_id == incident.tenant_id,
                                         User.active.is_(True)))
    login = incident.reported_by.split("@", 1)[0]
    out: list[str] = []
    for user in users:
        if user.email and (user.role is Role.ADMIN or user.login == login) \
                and user.email not in out:
            out.append(user.email)
    settings = s.get(SlaSettings, incident.tenant_id)
    if what == "reported" and settings is not None and settings.support_email \
            and settings.support_email not in out:
        out.append(settings.support_email)
    return out


def deliver(settings: Settings, factory: sessionmaker[Session], incident_id: int, what: str,
            send: Callable[[Settings, str, str, str], object] = send_mail) -> int:
    """Send the mail; returns how many went out (0: the incident is gone)."""
    with factory() as s:
        incident = s.get(SlaIncident, incident_id)
        if incident is None:
            return 0
        tenant = s.get(Tenant, incident.tenant_id)
        assert tenant is not None
        text = render(tenant.locale, what, incident_id=incident.id, tenant=tenant.name,
                      title=incident.title, priority=incident.priority,
                      reporter=incident.reported_by,
                      link=f"{settings.public_url.rstrip('/')}/sla/incidents/{incident.id}")
        to = recipients(s, incident, what)
    for address in to:
        send(settings, address, text.subject, text.body)  # raises: RQ retries
    log.info("mailed incident %d %s to %d recipients", incident_id, what, len(to))
    return len(to)


def send_incident_mail(incident_id: int, what: str) -> int:
    """The RQ job (queued by path from :mod:`controlplane.sla.incidents`)."""
    settings = load_settings()
    engine = make_engine(settings.database_url)
    try:
        return deliver(settings, make_sessionmaker(engine), incident_id, what)
    finally:
        engine.dispose()
