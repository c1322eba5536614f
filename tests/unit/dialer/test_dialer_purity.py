"""The dialer's pure modules stay pure: no asyncio, network, database, Redis or processes,
directly or through any module they import (issue 10 item 5; the package docstring lists
which modules are pure and which do I/O)."""

import pkgutil

import grimp
import pytest

import controlplane.dialer

FORBIDDEN = ("asyncio", "aiohttp", "websockets", "sqlalchemy", "redis", "rq", "subprocess")
PURE = ("events", "estimators", "compliance", "regulator", "pacing", "baselines", "records",
        "selection", "retry", "callerid", "dispositions", "live", "exceptions")
IO = ("store", "attempt_store", "preview_store", "preview", "runner")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("controlplane", "ivr_flows", "dialplan", "amd",
                             include_external_packages=True, cache_dir=None)


@pytest.mark.parametrize("name", PURE)
def test_a_pure_module_reaches_no_io_library(graph: grimp.ImportGraph, name: str) -> None:
    module = f"controlplane.dialer.{name}"
    chains = {bad: graph.find_shortest_chain(importer=module, imported=bad)
              for bad in FORBIDDEN}
    assert {bad: chain for bad, chain in chains.items() if chain} == {}


def test_every_module_of_the_package_is_classified_and_documented() -> None:
    found = {m.name for m in pkgutil.iter_modules(controlplane.dialer.__path__)}
    assert found == set(PURE) | set(IO)
    doc = controlplane.dialer.__doc__ or ""
    for name in found:
        assert f":mod:`.{name}`" in doc, f"{name} is not listed in the package docstring"


def test_the_io_modules_really_do_io(graph: grimp.ImportGraph) -> None:
    # The list above must not hide a pure module among the I/O ones.
    for name in IO:
        module = f"controlplane.dialer.{name}"
        assert any(graph.find_shortest_chain(importer=module, imported=bad)
                   for bad in FORBIDDEN), module
