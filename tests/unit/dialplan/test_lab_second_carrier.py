"""The lab plays a second carrier for a second tenant's trunk: the demo trunk holds the
lab's carrier address, and trunk calls are identified by address, so another tenant's
trunk points at another loopback address at the lab's SIP port and gets a transport of
its own there (the onboarding browser test relies on it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlplane import stack
from controlplane.config import load_settings
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.models import Tenant, Trunk
from dialplan.lab import is_lab_carrier, render_lab

ENV = {"CENTRALA_BIND_ADDRESS": "127.0.0.1", "CENTRALA_LAB_SIP_PORT": "5080"}


@pytest.fixture
def env(tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = load_settings({"CENTRALA_RUNTIME_DIR": str(tmp_path), **ENV})
    stack.database(settings)
    engine = make_engine(settings.database_url)
    yield settings, make_sessionmaker(engine)
    engine.dispose()


def test_which_trunks_the_lab_carries(env) -> None:  # type: ignore[no-untyped-def]
    settings, _ = env
    lab = settings.lab.sip
    assert is_lab_carrier(settings, settings.lab_carrier_address, lab)
    assert is_lab_carrier(settings, "127.0.12.2", lab)
    assert not is_lab_carrier(settings, "127.0.12.2", 5060)  # another port: a real carrier
    assert not is_lab_carrier(settings, "127.0.0.1", lab)  # where the desk phones live
    assert not is_lab_carrier(settings, "192.0.2.7", lab)
    assert not is_lab_carrier(settings, "sip.example", lab)


def test_a_second_carrier_gets_its_own_transport(env) -> None:  # type: ignore[no-untyped-def]
    settings, factory = env
    with transaction(factory) as s:
        tenant = Tenant(domain="second.example", name="Second")
        s.add(tenant)
        s.flush()
        s.add(Trunk(tenant_id=tenant.id, name="second-trunk-1", host="127.0.12.2",
                    port=settings.lab.sip, username="ob-acct", secret="s" * 24))
    with factory() as s:
        conf = render_lab(s, settings)["pjsip.conf"]
    assert "[transport-carrier-127.0.12.2]" in conf
    assert f"bind = 127.0.12.2:{settings.lab.sip}" in conf
    account = conf[conf.index("[ob-acct]"):]
    assert "transport = transport-carrier-127.0.12.2" in account.split("\n\n")[0]
    assert "media_address = 127.0.12.2" in account.split("\n\n")[0]
    # the demo trunk keeps the first carrier
    assert conf.count("transport = transport-carrier\n") == 1
