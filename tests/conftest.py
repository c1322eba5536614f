"""Fixtures shared by every tier. Integration fixtures start a whole isolated platform.

The integration stack runs on its own ports and runtime folder, so it does not
disturb a platform started with `make up` on the same machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from helpers import ThrowawayRedis, first_free_port, until  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from controlplane.config import Settings, load_settings  # noqa: E402

# Several slots, so two checkouts (or a developer and a helper) can run the integration tier at
# once: CENTRALA_IT_SLOT=1 moves every port and the runtime folder.
_SLOTS = {
    "0": ({
        "CENTRALA_SIP_PORT": "25060", "CENTRALA_ARI_PORT": "28088", "CENTRALA_AMI_PORT": "25038",
        "CENTRALA_LAB_SIP_PORT": "25080", "CENTRALA_LAB_HTTP_PORT": "28098",
        "CENTRALA_LAB_AMI_PORT": "25048", "CENTRALA_REDIS_PORT": "26390",
        "CENTRALA_WEB_PORT": "28080",
        "CENTRALA_RTP_RANGE": "20000-21999", "CENTRALA_LAB_RTP_RANGE": "22000-23999",
    }, "/tmp/centrala-it"),
    "1": ({
        "CENTRALA_SIP_PORT": "27060", "CENTRALA_ARI_PORT": "27088", "CENTRALA_AMI_PORT": "27038",
        "CENTRALA_LAB_SIP_PORT": "27080", "CENTRALA_LAB_HTTP_PORT": "27098",
        "CENTRALA_LAB_AMI_PORT": "27048", "CENTRALA_REDIS_PORT": "27391",
        "CENTRALA_WEB_PORT": "27081",
        "CENTRALA_RTP_RANGE": "10000-11999", "CENTRALA_LAB_RTP_RANGE": "12000-13999",
    }, "/tmp/centrala-it1"),
}
# Slots 2-5 (helpers and parallel work): each owns 2,000 ports below the ephemeral range.
for _slot, _base in {"2": 14000, "3": 16000, "4": 18000, "5": 30000}.items():
    _SLOTS[_slot] = ({
        "CENTRALA_SIP_PORT": str(_base + 60), "CENTRALA_ARI_PORT": str(_base + 88),
        "CENTRALA_AMI_PORT": str(_base + 38), "CENTRALA_LAB_SIP_PORT": str(_base + 80),
        "CENTRALA_LAB_HTTP_PORT": str(_base + 98), "CENTRALA_LAB_AMI_PORT": str(_base + 48),
        "CENTRALA_REDIS_PORT": str(_base + 91), "CENTRALA_WEB_PORT": str(_base + 81),
        "CENTRALA_RTP_RANGE": f"{_base + 200}-{_base + 1099}",
        "CENTRALA_LAB_RTP_RANGE": f"{_base + 1100}-{_base + 1999}",
    }, f"/tmp/centrala-it{_slot}")
# Slots 6 and 7: two more for parallel work, in port ranges no other slot (nor `make up`) uses.
_SLOTS["6"] = ({
    "CENTRALA_SIP_PORT": "2060", "CENTRALA_ARI_PORT": "2088", "CENTRALA_AMI_PORT": "2038",
    "CENTRALA_LAB_SIP_PORT": "2080", "CENTRALA_LAB_HTTP_PORT": "2098",
    "CENTRALA_LAB_AMI_PORT": "2048", "CENTRALA_REDIS_PORT": "2091", "CENTRALA_WEB_PORT": "2081",
    "CENTRALA_RTP_RANGE": "2200-3099", "CENTRALA_LAB_RTP_RANGE": "3100-3999",
}, "/tmp/centrala-it6")
_SLOTS["7"] = ({
    "CENTRALA_SIP_PORT": "24060", "CENTRALA_ARI_PORT": "24088", "CENTRALA_AMI_PORT": "24038",
    "CENTRALA_LAB_SIP_PORT": "24080", "CENTRALA_LAB_HTTP_PORT": "24098",
    "CENTRALA_LAB_AMI_PORT": "24048", "CENTRALA_REDIS_PORT": "24091", "CENTRALA_WEB_PORT": "24081",
    "CENTRALA_RTP_RANGE": "24200-24599", "CENTRALA_LAB_RTP_RANGE": "24600-24999",
}, "/tmp/centrala-it7")
# Under pytest-xdist (`make test` runs the integration tier as `-n 2 --dist loadfile`) each
# worker takes the slot of its number, so the two workers' platforms never meet.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
# Slot 8: the lead's own, while helpers hold 2-7 and `make test` 0-1.
_SLOTS["8"] = ({
    "CENTRALA_SIP_PORT": "26460", "CENTRALA_ARI_PORT": "26488", "CENTRALA_AMI_PORT": "26438",
    "CENTRALA_LAB_SIP_PORT": "26480", "CENTRALA_LAB_HTTP_PORT": "26498",
    "CENTRALA_LAB_AMI_PORT": "26448", "CENTRALA_REDIS_PORT": "26491", "CENTRALA_WEB_PORT": "26481",
    "CENTRALA_RTP_RANGE": "26500-26749", "CENTRALA_LAB_RTP_RANGE": "26750-26999",
}, "/tmp/centrala-it8")
# The mail catcher's port too: with one default (2525) for every slot, the two workers of
# `make test` raced for it and the loser's catcher crash-looped (its mail went to the other).
for _slot, _port in {"0": 25025, "1": 27025, "2": 14025, "3": 16025, "4": 18025,
                     "5": 30025, "6": 2025, "7": 24025, "8": 26425}.items():
    _SLOTS[_slot][0]["CENTRALA_MAIL_PORT"] = str(_port)
TEST_ENV, IT_RUNTIME = _SLOTS[os.environ.get("CENTRALA_IT_SLOT")
                              or (_WORKER.removeprefix("gw") if _WORKER else "0")]


@dataclass
class Platform:
    settings: Settings
    env: dict[str, str]

    def start_controlplane(self) -> None:
        from controlplane import stack

        stack.spawn(self.settings, "controlplane",
                    [sys.executable, "-m", "controlplane.cli", "controlplane"])

    def kill_controlplane(self, sig: int = 9) -> None:
        from controlplane import stack

        pid = stack.pid_alive(self.settings, "controlplane")
        assert pid is not None, "control plane is not running"
        os.kill(pid, sig)
        stack.forget_child(pid)
        stack.pidfile(self.settings, "controlplane").unlink(missing_ok=True)


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The whole platform + lab, real: Asterisk x2, Redis, SQLite, control plane, baresip."""
    if os.geteuid() != 0:
        pytest.fail("integration tests need root (chroot and bind mounts for Asterisk)")

    from controlplane import asterisk, stack, supervisor

    runtime = Path(IT_RUNTIME)  # fixed: one bind mount into the Asterisk root, reused
    # The SLA call probes (on by default where a lab runs) would add the probe tenant's
    # lines and calls to every test's platform: off, except in their own test.
    env = {**TEST_ENV, "CENTRALA_RUNTIME_DIR": str(runtime), "CENTRALA_SLA_CALL_PROBES": "0"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    settings = load_settings()
    supervisor.down(settings)
    if runtime.exists():
        asterisk.release_mounts(asterisk.installation(settings), runtime)
        shutil.rmtree(runtime)
    stack.database(settings)
    stack.start_redis(settings)
    platform_ast = stack.start_platform_asterisk(settings)
    stack.start_lab(settings)
    pf = Platform(settings, env)
    pf.start_controlplane()

    from controlplane.seed import DEMO_PHONES

    def ready() -> bool:
        trunk = platform_ast.cli("pjsip show registrations")
        contacts = platform_ast.cli("pjsip show contacts")
        # every desk phone (the lab's and baresip's), not just some: a test that rings one
        # that has not registered yet sees "Allocation failed" and another agent answer
        return "Registered" in trunk and all(f"demo-{ext}/" in contacts for ext in DEMO_PHONES)

    until(ready, timeout=40, what="every desk phone, baresip and the trunk registered")
    from controlplane.health import check_ari

    until(lambda: _ok(check_ari, settings), timeout=20, what="control plane connected to ARI")
    yield pf
    supervisor.down(settings)
    asterisk.release_mounts(asterisk.installation(settings), runtime)
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _ok(fn, settings: Settings) -> bool:  # type: ignore[no-untyped-def]
    try:
        fn(settings)
        return True
    except Exception:  # noqa: BLE001
        return False


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway PostgreSQL cluster of this pytest process (Debian's postgresql binaries), on
    its own port and folder, so parallel sessions on one machine never stop each other's."""
    bindir = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if not bindir:
        pytest.fail("PostgreSQL is not installed (scripts/bootstrap.sh installs it)")
    bindir = bindir[-1]
    port = _pg_port()
    data = Path(f"/tmp/centrala-pg-{port}")
    if data.exists():
        subprocess.run(["runuser", "-u", "postgres", "--", str(bindir / "pg_ctl"), "-D", str(data),
                        "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(data)
    data.mkdir()
    shutil.chown(data, "postgres", "postgres")
    run = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*run, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                    "--no-sync"], check=True, capture_output=True)
    subprocess.run([*run, str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(data / "log"),
                    "-o", f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off",
                    "start"], check=True, capture_output=True)
    subprocess.run([*run, str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "centrala"],
                   check=True)
    yield f"postgresql://postgres@127.0.0.1:{port}/centrala"
    subprocess.run([*run, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
                   capture_output=True)
    shutil.rmtree(data, ignore_errors=True)


def _pg_port() -> int:
    """25400-25459, from the process id: outside every service port of the tiers."""
    return first_free_port(25400 + (os.getpid() + i) % 60 for i in range(60))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL for each engine the product supports: an empty SQLite file, and the
    session's real PostgreSQL with a freshly emptied schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'centrala.db'}"
    from sqlalchemy import text

    from controlplane.db import make_engine

    url: str = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture
def factory(db_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on ``db_url`` migrated to the Alembic head (both engines)."""
    from controlplane.db import make_engine, make_sessionmaker
    from controlplane.migrate import upgrade

    upgrade(db_url)
    engine = make_engine(db_url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A throwaway real redis-server for unit tests (no persistence), on a free port."""
    server = ThrowawayRedis(tmp_path_factory.mktemp("redis")).start()
    try:
        yield server.port
    finally:
        server.stop()
