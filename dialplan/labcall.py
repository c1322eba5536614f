"""``centrala lab call``: a member of the public calls a platform DID through the lab carrier.

The lab originates over its AMI a call from the carrier to the platform
(``PJSIP/<did>@<carrier account>``); once the platform answers, the caller
runs ``[lab-caller]``: it records what it hears, optionally sends DTMF, plays a
tone or a sound file, and hangs up after a given time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from controlplane.asterisk import Instance
from controlplane.config import Settings
from controlplane.db import make_engine, make_sessionmaker
from controlplane.engine import ami_sync
from controlplane.models import Did, Trunk
from dialplan.lab import lab_dirs


@dataclass(frozen=True)
class CallSpec:
    did: str
    caller_id: str = "48600100200"
    tone_hz: int = 600
    play: str | None = None
    dtmf: str = ""
    dtmf_at: float = 1.0
    hangup_after: float = 0
    ring_timeout_s: float = 30


def carrier_account(settings: Settings, did: str) -> str:
    """The lab's account name for the platform trunk that carries ``did``."""
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as s:
            row = s.scalar(select(Did).where(Did.number == did))
            trunk = row.trunk if row is not None and row.trunk is not None else s.scalar(
                select(Trunk).order_by(Trunk.id))
            if trunk is None:
                raise ValueError("no trunk in the database: the lab has no carrier account")
            return trunk.username
    finally:
        engine.dispose()


def _originate(settings: Settings, channel: str, caller_id: str, lab_id: str,
               variables: dict[str, str], ring_timeout_s: float) -> None:
    """Originate from the lab over its AMI; once answered the call runs ``[lab-caller]``."""
    action = {
        "Action": "Originate", "Channel": channel,
        "Context": "lab-caller", "Exten": "s", "Priority": "1",
        "CallerID": f'"{caller_id}" <{caller_id}>',
        "Timeout": str(max(1, round(ring_timeout_s * 1000))), "Async": "true", "ChannelId": f"lab-{lab_id}",
        "Variable": ",".join(f"{k}={v}" for k, v in variables.items()),
    }
    _, replies = ami_sync.actions(settings.bind_address, settings.lab.ami, "lab",
                                  settings.secret("lab_ami_password"), [action])
    if replies[0].get("Response") != "Success":
        raise RuntimeError(f"lab originate failed: {replies[0].get('Message', replies[0])}")


def recordings(settings: Settings, lab_id: str) -> tuple[Path, Path]:
    """(what the caller sent+heard mixed, what the caller heard) for one lab call."""
    recdir, _ = lab_dirs(settings)
    return recdir / f"caller-{lab_id}.wav", recdir / f"caller-{lab_id}-heard.wav"


def call(settings: Settings, spec: CallSpec) -> str:
    """Originate the call (asynchronously); return its lab id."""
    lab_id = uuid.uuid4().hex[:12]
    variables = {"LAB_ID": lab_id, "LAB_TONE": str(spec.tone_hz), "LAB_PLAY": spec.play or "",
                 "LAB_DTMF": spec.dtmf, "LAB_DTMF_AT": str(spec.dtmf_at),
                 "LAB_HANGUP_AFTER": str(int(spec.hangup_after)) if spec.hangup_after else ""}
    _originate(settings, f"PJSIP/{spec.did}@{carrier_account(settings, spec.did)}",
               spec.caller_id, lab_id, variables, spec.ring_timeout_s)
    return lab_id


def _channels(instance: Instance) -> list[list[str]]:
    """``core show channels concise``: name!context!exten!prio!state!app!data!cid!...!uniqueid."""
    out = instance.cli("core show channels concise")
    return [line.split("!") for line in out.splitlines() if "!" in line]


def channel_name(instance: Instance, unique_id: str) -> str | None:
    for fields in _channels(instance):
        if fields[-1] == unique_id or fields[-2] == unique_id:
            return fields[0]
    return None


def hangup(instance: Instance, lab_id: str) -> bool:
    """Hang up the lab caller ``lab_id`` (as the customer putting the phone down)."""
    name = channel_name(instance, f"lab-{lab_id}")
    if name is None:
        return False
    instance.cli(f"channel request hangup {name}")
    return True


def phone_dials(settings: Settings, phone: str, number: str, hangup_after: float = 0,
                tone_hz: int = 800) -> str:
    """A lab desk phone (platform endpoint ``phone``) dials ``number`` through the platform."""
    lab_id = uuid.uuid4().hex[:12]
    variables = {"LAB_ID": lab_id, "LAB_TONE": str(tone_hz), "LAB_PLAY": "", "LAB_DTMF": "",
                 "LAB_HANGUP_AFTER": str(int(hangup_after)) if hangup_after else ""}
    _originate(settings, f"PJSIP/{number}@deskphone-{phone}", phone, lab_id, variables, 30)
    return lab_id

