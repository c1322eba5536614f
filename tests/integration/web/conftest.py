"""Panel integration fixtures: the unit fixtures (real Redis, seeded SQLite) plus a real server.

The unit conftest is loaded by path so its fixtures are shared without a
package (tests/ has no ``__init__.py``) and without touching tests/conftest.py.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import free_port, panel_process

from controlplane.config import Settings

_spec = importlib.util.spec_from_file_location(
    "centrala_web_unit_conftest", Path(__file__).parents[2] / "unit" / "web" / "conftest.py"
)
assert _spec and _spec.loader
_unit = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _unit  # dataclasses look their module up here
_spec.loader.exec_module(_unit)

settings = _unit.settings
world = _unit.world
redis_client = _unit.redis_client
wait_until = _unit.wait_until
PASSWORD = _unit.PASSWORD
until = _unit.until


@pytest.fixture(scope="module")
def server(
    settings: Settings, world: object, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """``python -m web`` on a free loopback port; yields its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "CENTRALA_RUNTIME_DIR": str(settings.runtime_dir),
        "CENTRALA_REDIS_URL": settings.redis_url,
        "CENTRALA_DATABASE_URL": settings.database_url,
        "CENTRALA_BIND_ADDRESS": "127.0.0.1",
        "CENTRALA_WEB_PORT": str(port),
    }
    base = f"http://127.0.0.1:{port}"
    with panel_process(env, tmp_path_factory.mktemp("server") / "web.log", base):
        yield base


@pytest.fixture
def password() -> str:
    return str(PASSWORD)
