"""The lab: a second Asterisk playing carrier, the public and desk phones, plus baresip.

Rendered from the same database as the platform, so the world always knows the
credentials the platform generated: the carrier holds the trunk's account, the
desk phones hold the phones' passwords. The phone named by ``BARESIP_PHONE``
is left to baresip (a SIP client nobody configured by hand).
"""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlplane.config import Settings
from controlplane.models import PhoneEndpoint, Trunk
from dialplan.modules import LAB, QUIET_FILES, modules_conf
from dialplan.problems import ConfigError, ConfigProblem
from dialplan.render import jinja_env

BARESIP_PHONE = "demo-1009"
LAB_FILES = {"pjsip.conf": "lab_pjsip.conf", "extensions.conf": "lab_extensions.conf",
             "manager.conf": "lab_manager.conf", "rtp.conf": "rtp.conf",
             "logger.conf": "logger.conf", "indications.conf": "indications.conf",
             "musiconhold.conf": "musiconhold.conf", "cdr.conf": "cdr.conf"}
PROMPTS = {
    "lab-human-hello": "Hello?",
    "lab-machine-greeting": (
        "Hello, you have reached the voice mailbox of John Smith. I am not available to take "
        "your call right now. Please leave your name, your number and a short message after "
        "the tone, and I will call you back as soon as I can. Thank you."
    ),
}


def lab_dirs(settings: Settings) -> tuple[Path, Path]:
    base = settings.runtime_dir / "lab"
    return base / "spool" / "labrec", base / "sounds"


def check_carrier_address(settings: Settings) -> list[ConfigProblem]:
    """The carrier's own address must be an IP that is not where the desk phones live."""
    obj, address = "lab setting 'CENTRALA_LAB_CARRIER_ADDRESS'", settings.lab_carrier_address
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return [ConfigProblem(obj, "address", f"'{address}' is not an IP address")]
    if ip.is_unspecified or address == settings.bind_address:
        return [ConfigProblem(obj, "address", f"'{address}' is not an address of its own: the "
                              f"desk phones use {settings.bind_address}, and trunk calls are "
                              "identified by source address (use e.g. 127.0.0.2)")]
    if settings.bind_address in ("0.0.0.0", "::", ""):
        return [ConfigProblem("setting 'CENTRALA_BIND_ADDRESS'", "address",
                              "the lab needs a specific bind address, not a wildcard: its "
                              "carrier listens on the same port at its own address")]
    return []


def is_lab_carrier(settings: Settings, host: str, port: int) -> bool:
    """Whether the lab plays the carrier of a trunk to ``host:port``: its own carrier
    address, or another loopback address at the lab's SIP port. A second tenant cannot
    share the first one's carrier address (trunk calls are identified by address), so
    the lab answers as a second carrier on e.g. 127.0.12.2 (the onboarding test)."""
    if port != settings.lab.sip:
        return False
    if host == settings.lab_carrier_address:
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback and host != settings.bind_address


def render_lab(session: Session, settings: Settings) -> dict[str, str]:
    problems = check_carrier_address(settings)
    if problems:
        raise ConfigError(problems)
    phones = [p for p in session.scalars(select(PhoneEndpoint).order_by(PhoneEndpoint.id))
              if p.name != BARESIP_PHONE and p.kind != "webphone"]  # a browser is no desk phone
    # the platform's trunks that point at the lab carrier
    trunks = [t for t in session.scalars(select(Trunk).order_by(Trunk.id))
              if is_lab_carrier(settings, t.host, t.port)]
    recdir, sounds = lab_dirs(settings)
    ctx = {
        "bind": settings.bind_address, "sip_port": settings.lab.sip, "ami_port": settings.lab.ami,
        "carrier_address": settings.lab_carrier_address,
        "rtp_start": settings.lab.rtp_start, "rtp_end": settings.lab.rtp_end,
        "platform_bind": settings.bind_address, "platform_sip_port": settings.platform.sip,
        "ami_password": settings.secret("lab_ami_password"),
        "phones": phones, "trunks": trunks, "recdir": recdir, "sounds": sounds,
        "more_carriers": sorted({t.host for t in trunks} - {settings.lab_carrier_address}),
    }
    env = jinja_env()
    files = {name: env.get_template(f"{tpl}.j2").render(ctx) for name, tpl in LAB_FILES.items()}
    files["modules.conf"] = modules_conf(LAB)
    files.update(QUIET_FILES)
    return files


def make_prompts(settings: Settings) -> None:
    """Synthesise the world's prompts once (espeak-ng, 8 kHz mono 16-bit WAV)."""
    _, sounds = lab_dirs(settings)
    sounds.mkdir(parents=True, exist_ok=True)
    for name, text in PROMPTS.items():
        out = sounds / f"{name}.wav"
        if out.exists():
            continue
        raw = sounds / f"{name}.raw.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), text], check=True)
        subprocess.run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(out)], check=True)
        raw.unlink()


def baresip_config(settings: Settings, phone: PhoneEndpoint, audio_file: Path, ctrl_port: int) -> dict[str, str]:
    """baresip 1.0 config: auto-answer, a WAV as microphone, what it hears to a file."""
    base = settings.runtime_dir / "baresip"
    config = f"""
poll_method epoll
sip_listen {settings.bind_address}:{settings.lab.sip + 20}
net_interface {settings.bind_address}
audio_player aufile,{base}/heard
audio_source aufile,{audio_file}
audio_alert aufile,{base}/alert
ausrc_srate 8000
auplay_srate 8000
ausrc_channels 1
auplay_channels 1
module_path /usr/lib/baresip/modules
module stdio.so
module g711.so
module aufile.so
module sndfile.so
module account.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen {settings.bind_address}:{ctrl_port}
snd_path {base}/snd
"""
    account = (f"<sip:{phone.name}@{settings.bind_address}:{settings.platform.sip};transport=udp>"
               f";auth_pass={phone.secret};answermode=auto;audio_codecs=PCMU,PCMA;regint=300\n")
    return {"config": config.lstrip(), "accounts": account}


def baresip_available() -> bool:
    return shutil.which("baresip") is not None
