"""Trunks are identified by source address: what the platform and the lab render for that,
what they refuse, and how the seed moves an older demo trunk to the carrier's address."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from controlplane import stack
from controlplane.config import load_settings
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.models import Trunk
from controlplane.seed import LAB_TRUNK, seed_demo
from dialplan.lab import render_lab
from dialplan.problems import ConfigError
from dialplan.render import render_platform

ENV = {"CENTRALA_SIP_PORT": "25999", "CENTRALA_ARI_PORT": "28999", "CENTRALA_AMI_PORT": "25998",
       "CENTRALA_LAB_SIP_PORT": "25980"}


@pytest.fixture
def env(tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = load_settings({"CENTRALA_RUNTIME_DIR": str(tmp_path), **ENV})
    stack.database(settings)
    engine = make_engine(settings.database_url)
    yield settings, make_sessionmaker(engine)
    engine.dispose()


def section(conf: str, name: str, kind: str) -> str:
    """The body of ``[name]`` whose ``type`` is ``kind`` (pjsip reuses names across types)."""
    for match in re.finditer(rf"^\[{re.escape(name)}\]\n(.*?)(?=^\[|\Z)", conf, re.M | re.S):
        if f"type = {kind}\n" in match.group(1):
            return match.group(1)
    raise AssertionError(f"no [{name}] of type {kind} in:\n{conf}")


def test_trunk_is_identified_by_its_address_only(env) -> None:  # type: ignore[no-untyped-def]
    settings, factory = env
    with factory() as s:
        pjsip = render_platform(s, settings)["pjsip.conf"]
    assert settings.lab_carrier_address == "127.0.0.2"
    endpoint = section(pjsip, LAB_TRUNK, "endpoint")
    assert "identify_by = ip\n" in endpoint  # the username identifier can never select it
    assert "auth = " not in endpoint.replace("outbound_auth", "")
    assert "set_var = CENTRALA_TENANT=1\n" in endpoint
    identify = section(pjsip, LAB_TRUNK, "identify")
    assert f"endpoint = {LAB_TRUNK}\n" in identify and "match = 127.0.0.2\n" in identify
    registration = section(pjsip, f"{LAB_TRUNK}-reg", "registration")
    assert "server_uri = sip:127.0.0.2:25980" in registration
    # no line= matching for trunks anywhere (it let a named caller in before)
    assert not re.search(r"^line\s*=", pjsip, re.M)
    assert not re.search(r"^endpoint = lab-carrier$", registration, re.M)
    # the address is looked at before the user name
    assert "endpoint_identifier_order = ip,username,anonymous" in pjsip
    # phones still identified by name and challenged
    phone = section(pjsip, "demo-1001", "endpoint")
    assert "identify_by = username,auth_username" in phone and "auth = demo-1001" in phone


def test_trunk_calls_carry_tenant_trunk_and_source_to_stasis(env) -> None:  # type: ignore[no-untyped-def]
    settings, factory = env
    with factory() as s:
        ext = render_platform(s, settings)["extensions.conf"]
    from_trunk = ext.split("[from-trunk]\n", 1)[1].split("\n[", 1)[0]
    assert ("exten => _[+0-9].,1,Stasis(centrala,inbound,${EXTEN},${CENTRALA_TENANT},"
            "${CENTRALA_TRUNK},${CHANNEL(pjsip,remote_addr)})") in from_trunk


def test_lab_carrier_has_its_own_transport(env) -> None:  # type: ignore[no-untyped-def]
    settings, factory = env
    with factory() as s:
        lab = render_lab(s, settings)["pjsip.conf"]
        trunk = s.scalar(select(Trunk))
    carrier_tp = section(lab, "transport-carrier", "transport")
    assert "bind = 127.0.0.2:25980\n" in carrier_tp
    assert "bind = 127.0.0.1:25980\n" in section(lab, "transport-udp", "transport")
    carrier = section(lab, trunk.username, "endpoint")
    assert "transport = transport-carrier\n" in carrier
    assert "media_address = 127.0.0.2\n" in carrier
    # desk phones keep registering from 127.0.0.1
    phone = section(lab, "deskphone-demo-1001", "endpoint")
    assert "transport = transport-udp\n" in phone and "media_address = 127.0.0.1\n" in phone
    assert "transport = transport-udp\n" in section(lab, "deskphone-demo-1001-reg", "registration")


def test_carrier_address_is_a_setting(tmp_path: Path) -> None:
    settings = load_settings({"CENTRALA_RUNTIME_DIR": str(tmp_path), **ENV,
                              "CENTRALA_LAB_CARRIER_ADDRESS": "127.0.0.9"})
    stack.database(settings)
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as s:
            assert s.scalar(select(Trunk)).host == "127.0.0.9"
            lab = render_lab(s, settings)["pjsip.conf"]
            pjsip = render_platform(s, settings)["pjsip.conf"]
    finally:
        engine.dispose()
    assert "bind = 127.0.0.9:25980" in lab and "match = 127.0.0.9\n" in pjsip


@pytest.mark.parametrize("address, words", [
    ("127.0.0.1", "not an address of its own"),
    ("0.0.0.0", "not an address of its own"),
    ("carrier.example", "not an IP address"),
])
def test_lab_refuses_a_carrier_address_shared_or_invalid(tmp_path: Path, address: str,
                                                         words: str) -> None:
    settings = load_settings({"CENTRALA_RUNTIME_DIR": str(tmp_path), **ENV,
                              "CENTRALA_LAB_CARRIER_ADDRESS": address})
    stack.database(settings)
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as s, pytest.raises(ConfigError) as info:
            render_lab(s, settings)
    finally:
        engine.dispose()
    assert words in str(info.value) and "CENTRALA_LAB_CARRIER_ADDRESS" in str(info.value)


def test_two_trunks_at_one_address_are_refused(env) -> None:  # type: ignore[no-untyped-def]
    settings, factory = env
    with transaction(factory) as s:
        first = s.scalar(select(Trunk))
        s.add(Trunk(tenant_id=first.tenant_id, name="second", host="127.0.0.2", port=5070,
                    username="other", secret="z" * 24))
    with factory() as s, pytest.raises(ConfigError) as info:
        render_platform(s, settings)
    [problem] = info.value.problems
    assert problem.obj.startswith("trunk 'second'") and problem.field == "host"
    assert "identified by source address" in problem.message


def test_reseeding_moves_an_old_lab_trunk_to_the_carrier_address(env) -> None:  # type: ignore[no-untyped-def]
    settings, factory = env
    with transaction(factory) as s:
        s.scalar(select(Trunk)).host = "127.0.0.1"  # as seeded before the carrier had its own
    seed_demo(factory, settings.runtime_dir, settings.lab.sip, settings.lab_carrier_address)
    with factory() as s:
        assert s.scalar(select(Trunk)).host == "127.0.0.2"
    # a trunk an administrator pointed elsewhere is left alone
    with transaction(factory) as s:
        s.scalar(select(Trunk)).host = "sip.carrier.example"
    seed_demo(factory, settings.runtime_dir, settings.lab.sip, settings.lab_carrier_address)
    with factory() as s:
        assert s.scalar(select(Trunk)).host == "sip.carrier.example"
