"""Config rendering from a real SQLite database: valid data renders, bad data is refused
with every problem named by object and field."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from sqlalchemy import select

from controlplane import stack
from controlplane.config import load_settings
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.models import Did, PhoneEndpoint, Trunk
from dialplan.lab import render_lab
from dialplan.problems import ConfigError
from dialplan.render import render_platform, write_config


@pytest.fixture
def env(tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = load_settings({"CENTRALA_RUNTIME_DIR": str(tmp_path),
                              "CENTRALA_SIP_PORT": "25999", "CENTRALA_ARI_PORT": "28999",
                              "CENTRALA_AMI_PORT": "25998"})
    stack.database(settings)
    engine = make_engine(settings.database_url)
    yield settings, make_sessionmaker(engine)
    engine.dispose()


def test_demo_renders_every_file(env) -> None:  # type: ignore[no-untyped-def]
    settings, factory = env
    with factory() as s:
        files = render_platform(s, settings)
        lab = render_lab(s, settings)
    assert {"pjsip.conf", "extensions.conf", "http.conf", "ari.conf", "manager.conf",
            "modules.conf", "rtp.conf"} <= set(files)
    pjsip = files["pjsip.conf"]
    assert "bind = 127.0.0.1:25999" in pjsip and "[demo-1001]" in pjsip
    with factory() as s:
        secret = s.scalar(select(PhoneEndpoint).where(PhoneEndpoint.name == "demo-1001")).secret
        trunk = s.scalar(select(Trunk))
    assert len(secret) >= 32 and f"password = {secret}" in pjsip
    assert "Stasis(centrala,inbound,${EXTEN},${CENTRALA_TENANT}," in files["extensions.conf"]
    assert "bindaddr = 127.0.0.1" in files["http.conf"]
    assert "autoload = no" in files["modules.conf"]
    # the lab's carrier knows the account the platform registers with
    assert f"password = {trunk.secret}" in lab["pjsip.conf"]
    assert "[deskphone-demo-1001-reg]" in lab["pjsip.conf"]
    assert "deskphone-demo-1009" not in lab["pjsip.conf"]  # baresip's


def test_write_config_is_atomic_and_reports_changes(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "etc"
    assert write_config(out, {"a.conf": "x\n", "b.conf": "y\n"}) == ["a.conf", "b.conf"]
    assert write_config(out, {"a.conf": "x\n", "b.conf": "z\n"}) == ["b.conf"]
    assert (out / "b.conf").read_text() == "z\n"
    assert not list(out.glob("*.tmp"))


def test_bad_data_is_refused_with_every_problem_named(env) -> None:  # type: ignore[no-untyped-def]
    settings, factory = env
    with transaction(factory) as s:
        trunk = s.scalar(select(Trunk))
        trunk.host = "not a host!"
        s.add(Did(tenant_id=trunk.tenant_id, number="+48 22 100 00 01", trunk_id=trunk.id))
        s.add(PhoneEndpoint(tenant_id=trunk.tenant_id, name="lab-carrier", extension="1", secret="x" * 32))
        s.add(PhoneEndpoint(tenant_id=trunk.tenant_id, name="weak", extension="2", secret="short"))
        s.add(PhoneEndpoint(tenant_id=trunk.tenant_id, name="1234", extension="3", secret="y" * 32))
    with factory() as s, pytest.raises(ConfigError) as info:
        render_platform(s, settings)
    text = str(info.value)
    problems = {(p.field, p.obj.split(" (")[0]) for p in info.value.problems}
    assert ("host", "trunk 'lab-carrier'") in problems, text
    assert ("number", "DID '+48 22 100 00 01'") in problems, text
    assert "duplicates DID '48221000001'" in text
    assert ("name", "trunk 'lab-carrier'") in problems or ("name", "phone endpoint 'lab-carrier'") in problems
    assert ("secret", "phone endpoint 'weak'") in problems
    assert ("name", "phone endpoint '1234'") in problems  # numeric names could match a caller ID
    assert len(info.value.problems) >= 5


def test_port_in_use_is_refused(env) -> None:  # type: ignore[no-untyped-def]
    settings, factory = env
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", settings.platform.http))
        sock.listen()
        with factory() as s, pytest.raises(ConfigError) as info:
            render_platform(s, settings, check_ports=True)
    assert any(p.field == "http (ARI)" and "in use" in p.message for p in info.value.problems)
