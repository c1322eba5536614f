"""Render the platform's Asterisk configuration from the database and apply it.

``render_platform`` gathers phones, trunks and DIDs, validates them (every
problem reported at once, naming object and field) and returns
``{filename: text}``. ``write_config`` replaces files atomically; the caller
applies them with an AMI reload (:func:`controlplane.engine.ami_sync.reload`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import select
from sqlalchemy.orm import Session

from controlplane.config import Settings
from controlplane.models import Did, PhoneEndpoint, Trunk
from controlplane.security import ban_store, sip_acl
from dialplan import checks, webphone
from dialplan.modules import PLATFORM, QUIET_FILES, modules_conf
from dialplan.problems import ConfigError, ConfigProblem

TEMPLATES = Path(__file__).parent / "templates"
PLATFORM_FILES = ("pjsip.conf", "extensions.conf", "http.conf", "ari.conf", "manager.conf",
                  "rtp.conf", "logger.conf", "musiconhold.conf", "cdr.conf", "stasis.conf",
                  "indications.conf")
CODECS = "ulaw,alaw"


def jinja_env() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                       keep_trailing_newline=True, autoescape=False)


def phone_context(tenant_id: int) -> str:
    return f"phones-t{tenant_id}"


@dataclass(frozen=True)
class PhoneView:
    name: str
    extension: str
    secret: str
    tenant_id: int
    transport: str
    display: str

    @property
    def context(self) -> str:
        return phone_context(self.tenant_id)


def _view(p: PhoneEndpoint) -> PhoneView:
    return PhoneView(p.name, p.extension, p.secret, p.tenant_id, p.transport, p.extension)


def _validate(phones: list[PhoneEndpoint], trunks: list[Trunk], dids: list[Did]) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    labels: list[tuple[str, str]] = []
    for p in phones:
        obj = f"phone endpoint '{p.name}' (id {p.id})"
        problems += checks.check_name(obj, p.name)
        if p.name.isdigit():
            problems.append(ConfigProblem(obj, "name", f"'{p.name}' is all digits: phones are "
                                          "identified by name, and a caller ID must never match one"))
        if len(p.secret) < 16:
            problems.append(ConfigProblem(obj, "secret", "SIP password shorter than 16 characters; "
                                          "let the platform generate one"))
        if p.kind == webphone.KIND:
            pass  # a webphone always comes in over the WebSocket transport
        elif p.transport not in ("udp", "tcp"):
            problems.append(ConfigProblem(obj, "transport", f"'{p.transport}' is not udp or tcp"))
        labels.append((obj, p.name))
    for t in trunks:
        obj = f"trunk '{t.name}' (id {t.id})"
        problems += checks.check_name(obj, t.name)
        problems += checks.check_host(obj, t.host)
        problems += checks.check_port(obj, "port", t.port)
        if t.transport not in ("udp", "tcp"):
            problems.append(ConfigProblem(obj, "transport", f"'{t.transport}' is not udp or tcp"))
        if not t.username or any(c in t.username for c in " @:;<>\"\n"):
            problems.append(ConfigProblem(obj, "username", f"'{t.username}' is empty or has characters not allowed in a SIP user"))
        if any(c in t.secret for c in "\n;"):
            problems.append(ConfigProblem(obj, "secret", "the password contains a newline or ';'"))
        labels.append((obj, t.name))
        labels.append((obj, f"{t.name}-auth"))
        labels.append((obj, f"{t.name}-reg"))
    problems += checks.find_duplicates("SIP object name", "name", labels)
    # Trunk calls are identified by source address alone: two trunks at one address could not
    # be told apart, and the second one's calls would land on the first one's tenant.
    problems += [replace(p, message=p.message + ": trunk calls are identified by source "
                         "address, so each trunk needs an address of its own")
                 for p in checks.find_duplicates(
                     "trunk address", "host",
                     [(f"trunk '{t.name}' (id {t.id})", t.host.lower()) for t in trunks])]
    problems += checks.find_duplicates(
        "DID", "number", [(f"DID '{d.number}' (id {d.id})", d.number) for d in dids],
        key=checks.normalise_number,
    )
    for d in dids:
        if not checks.normalise_number(d.number):
            problems.append(ConfigProblem(f"DID '{d.number}' (id {d.id})", "number", "has no digits"))
    return problems


def render_platform(session: Session, settings: Settings, *, check_ports: bool = False) -> dict[str, str]:
    phones = list(session.scalars(select(PhoneEndpoint).order_by(PhoneEndpoint.id)))
    trunks = list(session.scalars(select(Trunk).order_by(Trunk.id)))
    dids = list(session.scalars(select(Did).order_by(Did.id)))
    problems = _validate(phones, trunks, dids)
    tls_pem = webphone.tls_pem(settings) if webphone.wss_port(settings) else None
    ports = {"sip": settings.platform.sip, "http (ARI)": settings.platform.http,
             "ami": settings.platform.ami}
    if check_ports:
        problems += checks.check_ports_free("platform Asterisk", settings.bind_address, ports)
    else:
        problems += checks.find_duplicates(
            "port", "port", [(f"platform setting '{k}'", str(v)) for k, v in ports.items()])
    if problems:
        raise ConfigError(problems)
    ctx = {
        "bind": settings.bind_address,
        "sip_port": settings.platform.sip,
        "http_port": settings.platform.http,
        "ami_port": settings.platform.ami,
        "rtp_start": settings.platform.rtp_start,
        "rtp_end": settings.platform.rtp_end,
        "web_port": settings.web_port,
        "codecs": CODECS,
        "app": settings.ari_app,
        "ari_user": settings.ari_user,
        "ari_password": settings.ari_password,
        "ami_user": settings.ami_user,
        "ami_password": settings.ami_password,
        "phones": [_view(p) for p in phones if p.kind != webphone.KIND],
        "webphones": [_view(p) for p in phones if p.kind == webphone.KIND],
        "webrtc_codecs": webphone.WEBRTC_CODECS,
        # WSS only once the panel has its certificate (it makes it when it starts)
        "wss_port": webphone.wss_port(settings) if tls_pem else None,
        "tls_file": webphone.tls_path(settings),
        "trunks": trunks,
        "phone_contexts": sorted({phone_context(p.tenant_id) for p in phones}),
    }
    env = jinja_env()
    files = {name: env.get_template(f"{name}.j2").render(ctx) for name in PLATFORM_FILES}
    files["modules.conf"] = modules_conf(PLATFORM)
    if tls_pem:
        files[webphone.TLS_FILE] = tls_pem
    files.update(QUIET_FILES)
    files.update(cel_files(cel_log_path(settings)))
    files.update(ban_files(session))
    return files


def ban_files(session: Session) -> dict[str, str]:
    """The SIP bans in force (``sip_ban``) as the PJSIP global ACL, in its own file: a start
    or a render applies them; the control plane keeps the file current afterwards."""
    return {"sorcery.conf": sip_acl.SORCERY_CONF,
            sip_acl.BANS_FILE: ban_store.render(session, datetime.now(UTC))}


def cel_log_path(settings: Settings) -> Path:
    return settings.runtime_dir / "platform" / "log" / "cel-hangups.json"


def cel_files(path: Path) -> dict[str, str]:
    """Asterisk's own log of every hang-up (time, cause), one JSON object a line.

    The control plane reads it after a restart to give calls that ended while it
    was away their exact end time and cause.
    """
    return {
        "cel.conf": "[general]\nenable = yes\napps =\nevents = HANGUP\n",
        "cel_custom.conf": f"[{path}]\nformat = json\nfields = EventType,EventTime,UniqueID,EventExtra\n",
    }


def write_config(etc_dir: Path, files: dict[str, str]) -> list[str]:
    """Write files atomically (0640); return the names whose content changed."""
    etc_dir.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, text in sorted(files.items()):
        path = etc_dir / name
        if path.exists() and path.read_text() == text:
            continue
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text)
        os.chmod(tmp, 0o640)
        if path.exists():
            st = path.stat()
            os.chown(tmp, st.st_uid, st.st_gid)
        tmp.replace(path)
        changed.append(name)
    return changed
