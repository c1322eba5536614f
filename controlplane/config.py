"""Settings, read once from the environment (prefix ``CENTRALA_``) into a frozen object.

No other module reads ``os.environ``: the composition root builds a :class:`Settings`
and passes it down (STYLE.md §5). Secrets that the platform needs between its
own processes (ARI and AMI passwords) are generated on first use and kept in
``<runtime>/secrets.json`` (mode 0600); they are never logged.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from controlplane.security import redis_acl

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env(env: dict[str, str], name: str, default: str) -> str:
    return env.get(f"CENTRALA_{name}", default)


@dataclass(frozen=True)
class Ports:
    """Loopback ports of one Asterisk instance."""

    sip: int
    http: int
    ami: int
    rtp_start: int
    rtp_end: int


@dataclass(frozen=True)
class Settings:
    runtime_dir: Path
    database_url: str
    redis_url: str
    redis_port: int
    asterisk_root: Path
    bind_address: str
    platform: Ports
    lab: Ports
    web_port: int
    log_level: str = "INFO"
    ari_app: str = "centrala"
    ari_user: str = "centrala"
    ami_user: str = "centrala"
    # HLR look-ups of campaign numbers (controlplane.campaigns.hlr); the key is a secret
    hlr_url: str = ""
    hlr_key: str = field(default="", repr=False)
    hlr_timeout_s: float = 10.0
    # CENTRALA_REDIS_URL given: someone else's Redis, used by every process as given (no
    # per-process users); otherwise our own Redis with one ACL user per process kind.
    redis_external: bool = False
    # The lab carrier's own loopback address (all of 127.0.0.0/8 is local on Linux): the
    # platform identifies trunk calls by source address, so the carrier must not share
    # 127.0.0.1 with the lab's desk phones.
    lab_carrier_address: str = "127.0.0.2"
    # CENTRALA_WEB_TLS=1: the panel serves HTTPS with a self-signed certificate generated
    # under <runtime>/tls (web.tls) and its cookies are marked Secure.
    web_tls: bool = False
    # SIP brute-force bans (controlplane.security.bans): this many failed authentications
    # from one address within the window ban it for sip_ban_time_s (repeat offenders longer,
    # up to sip_ban_max_time_s); addresses in sip_ban_allow (CIDRs) are never banned. The
    # host itself is allowed by default: the lab's desk phones and baresip live on it.
    sip_ban_failures: int = 10
    sip_ban_window_s: float = 60.0
    sip_ban_time_s: float = 3600.0
    sip_ban_max_time_s: float = 7 * 86400.0
    sip_ban_allow: tuple[str, ...] = ("127.0.0.1/32",)
    # Outgoing mail (controlplane.mail): CENTRALA_SMTP_URL (smtp://, smtps://,
    # smtp+starttls://, user:password@ allowed: never log it, log smtp_location). Unset:
    # the local catcher `make up` runs on mail_port (controlplane.mail.catcher), which keeps
    # every message under <runtime>/mail instead of delivering it.
    smtp_url: str = field(default="", repr=False)
    smtp_external: bool = False
    mail_port: int = 2525
    mail_from: str = "Centrala <no-reply@centrala.local>"
    # The panel's address as people reach it, for links in mails (activation, reset).
    public_url: str = ""
    # CENTRALA_WEBHOOKS_ALLOW_PRIVATE=1: webhooks may target private/loopback addresses
    # (on-premise receivers, tests); refused by default (controlplane.webhooks.transport).
    webhooks_allow_private: bool = False
    # CENTRALA_SFTP_ALLOW_PRIVATE=1: recordings may be copied to SFTP servers on private or
    # loopback addresses (an on-premises archive); by default only public ones
    sftp_allow_private: bool = False
    secrets_file: Path = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "secrets_file", self.runtime_dir / "secrets.json")

    @property
    def ari_url(self) -> str:
        return f"http://{self.bind_address}:{self.platform.http}/ari"

    @property
    def recordings_dir(self) -> Path:
        return self.runtime_dir / "platform" / "spool" / "recording"

    @property
    def mail_dir(self) -> Path:
        """Where the local catcher keeps the mail it receives (one .eml per message)."""
        return self.runtime_dir / "mail"

    @property
    def smtp_location(self) -> str:
        """Where mail goes, for messages: the SMTP URL without user name or password."""
        parts = urlsplit(self.smtp_url)
        return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))

    def secret(self, name: str) -> str:
        """Return the named internal secret, generating and storing it on first use."""
        self.runtime_dir.mkdir(parents=True, exist_ok=True)
        data: dict[str, str] = {}
        if self.secrets_file.exists():
            data = json.loads(self.secrets_file.read_text())
        if name not in data:
            data[name] = secrets.token_urlsafe(24)
            tmp = self.secrets_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=1))
            tmp.chmod(0o600)
            tmp.replace(self.secrets_file)
        return data[name]

    @property
    def ari_password(self) -> str:
        return self.secret("ari_password")

    @property
    def ami_password(self) -> str:
        return self.secret("ami_password")

    def redis_url_for(self, role: str) -> str:
        """The Redis URL of one process kind: ``controlplane``, ``web``, ``worker`` or
        ``admin`` (CLI, tests), logging in as that kind's user with its password
        (:mod:`controlplane.security.redis_acl`). Every Redis client is built from this.
        The URL holds a password: never log it (log :attr:`redis_location`)."""
        name = redis_acl.secret_name(role)  # validates the role
        if self.redis_external:
            return self.redis_url
        return redis_acl.url(role, self.secret(name), "127.0.0.1", self.redis_port)

    @property
    def redis_location(self) -> str:
        """Where Redis is, for messages: the URL without user name or password."""
        parts = urlsplit(self.redis_url)
        return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))

    def with_runtime(self, runtime_dir: Path) -> Settings:
        return replace(self, runtime_dir=runtime_dir)


def _flag(env: dict[str, str], name: str) -> bool:
    """A yes/no setting: 1/true/yes/on or 0/false/no/off (empty: off); anything else is
    refused with the variable's name."""
    value = _env(env, name, "").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("", "0", "false", "no", "off"):
        return False
    raise ValueError(f"CENTRALA_{name}: expected 1/0, true/false, yes/no or on/off, "
                     f"not {value!r}")


def _range(value: str) -> tuple[int, int]:
    start, _, end = value.partition("-")
    return int(start), int(end)


def _sip_ban_number(env: dict[str, str], name: str, default: str, minimum: float) -> float:
    value = _env(env, name, default)
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"CENTRALA_{name}: {value!r} is not a number") from None
    if number < minimum:
        raise ValueError(f"CENTRALA_{name}: must be at least {minimum:g}, not {value!r}")
    return number


def _sip_ban_allow(env: dict[str, str]) -> tuple[str, ...]:
    """``CENTRALA_SIP_BAN_ALLOW``: comma-separated addresses or CIDRs ("" allows nobody)."""
    out = []
    for item in filter(None, (i.strip() for i in _env(env, "SIP_BAN_ALLOW", "127.0.0.1/32")
                              .split(","))):
        try:
            out.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ValueError(f"CENTRALA_SIP_BAN_ALLOW: {item!r} is not an IP address or "
                             "network (e.g. 192.0.2.0/24)") from None
    return tuple(out)


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Build settings from ``env`` (default: the process environment)."""
    env = dict(os.environ if env is None else env)
    runtime = Path(_env(env, "RUNTIME_DIR", str(PROJECT_ROOT / "var"))).resolve()
    redis_port = int(_env(env, "REDIS_PORT", "6390"))
    bind = _env(env, "BIND_ADDRESS", "127.0.0.1")
    rtp = _range(_env(env, "RTP_RANGE", "10000-14999"))
    lab_rtp = _range(_env(env, "LAB_RTP_RANGE", "15000-19999"))
    mail_port = int(_env(env, "MAIL_PORT", "2525"))
    return Settings(
        runtime_dir=runtime,
        database_url=_env(env, "DATABASE_URL", f"sqlite:///{runtime / 'centrala.db'}"),
        redis_url=_env(env, "REDIS_URL", f"redis://127.0.0.1:{redis_port}/0"),
        redis_port=redis_port,
        redis_external="CENTRALA_REDIS_URL" in env,
        asterisk_root=Path(
            _env(env, "ASTERISK_ROOT", "/var/cache/centrala/asterisk-root-sid")
        ),
        bind_address=bind,
        platform=Ports(
            sip=int(_env(env, "SIP_PORT", "5060")),
            http=int(_env(env, "ARI_PORT", "8088")),
            ami=int(_env(env, "AMI_PORT", "5038")),
            rtp_start=rtp[0],
            rtp_end=rtp[1],
        ),
        lab=Ports(
            sip=int(_env(env, "LAB_SIP_PORT", "5080")),
            http=int(_env(env, "LAB_HTTP_PORT", "8098")),
            ami=int(_env(env, "LAB_AMI_PORT", "5048")),
            rtp_start=lab_rtp[0],
            rtp_end=lab_rtp[1],
        ),
        web_port=int(_env(env, "WEB_PORT", "8080")),
        log_level=_env(env, "LOG_LEVEL", "INFO").upper(),
        hlr_url=_env(env, "HLR_URL", ""),
        hlr_key=_env(env, "HLR_KEY", ""),
        hlr_timeout_s=float(_env(env, "HLR_TIMEOUT_S", "10")),
        lab_carrier_address=_env(env, "LAB_CARRIER_ADDRESS", "127.0.0.2"),
        web_tls=_flag(env, "WEB_TLS"),
        sip_ban_failures=int(_sip_ban_number(env, "SIP_BAN_FAILURES", "10", 1)),
        sip_ban_window_s=_sip_ban_number(env, "SIP_BAN_WINDOW_S", "60", 1),
        sip_ban_time_s=_sip_ban_number(env, "SIP_BAN_TIME_S", "3600", 1),
        sip_ban_max_time_s=max(_sip_ban_number(env, "SIP_BAN_MAX_TIME_S", "604800", 1),
                               _sip_ban_number(env, "SIP_BAN_TIME_S", "3600", 1)),
        sip_ban_allow=_sip_ban_allow(env),
        smtp_url=_env(env, "SMTP_URL", "") or f"smtp://127.0.0.1:{mail_port}",
        smtp_external=bool(_env(env, "SMTP_URL", "")),
        mail_port=mail_port,
        mail_from=_env(env, "MAIL_FROM", "Centrala <no-reply@centrala.local>"),
        public_url=(_env(env, "PUBLIC_URL", "")
                    or f"{'https' if _flag(env, 'WEB_TLS') else 'http'}://{bind}:"
                    f"{_env(env, 'WEB_PORT', '8080')}").rstrip("/"),
        webhooks_allow_private=_flag(env, "WEBHOOKS_ALLOW_PRIVATE"),
        sftp_allow_private=_flag(env, "SFTP_ALLOW_PRIVATE"),
    )
