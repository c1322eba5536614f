"""Purity is declared once — the ``pure`` import contract in ``pyproject.toml`` — and kept
true both ways (issue 10 item 5).

``lint-imports`` proves that the listed modules import no I/O library. This test proves the
rest: in the packages that promise a pure core (acd, dialer, campaigns, the call machines,
the IVR and AMD libraries), every module is either on the list or really does I/O (so no
pure module hides off the list, unchecked), and the package docstring names every module
(so a reader sees which is which without opening them).
"""

from __future__ import annotations

import importlib
import pkgutil
import tomllib
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("controlplane.acd", "controlplane.dialer", "controlplane.campaigns",
            "controlplane.calls.machines", "ivr_flows", "amd")


def _contract() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        contracts = tomllib.load(f)["tool"]["importlinter"]["contracts"]
    found: dict[str, object] = next(c for c in contracts if c["id"] == "pure")
    return found


PURE = frozenset(str(m) for m in _contract()["source_modules"])  # type: ignore[attr-defined]
FORBIDDEN = tuple(str(m) for m in _contract()["forbidden_modules"])  # type: ignore[attr-defined]
# What else counts as I/O here (not forbidden to pure modules by the contract, but a module
# doing it is not pure): HTTP and sockets (the HLR client), audio files (AMD's offline tools).
IO_MARKERS = (*FORBIDDEN, "urllib", "http", "socket", "smtplib", "soundfile")


def _modules(package: str) -> list[str]:
    path = importlib.import_module(package).__path__
    return [f"{package}.{m.name}" for m in pkgutil.iter_modules(path)]


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("controlplane", "ivr_flows", "dialplan", "amd", "web",
                             include_external_packages=True, cache_dir=None)


def _does_io(graph: grimp.ImportGraph, module: str) -> bool:
    present = [bad for bad in IO_MARKERS if bad in graph.modules]  # nobody imports some
    return any(graph.find_shortest_chain(importer=module, imported=bad) for bad in present)


@pytest.mark.parametrize("package", PACKAGES)
def test_every_module_off_the_pure_list_really_does_io(graph: grimp.ImportGraph,
                                                        package: str) -> None:
    hiding = [m for m in _modules(package) if m not in PURE and not _does_io(graph, m)]
    assert hiding == [], f"pure but not on pyproject's pure list (so unchecked): {hiding}"


@pytest.mark.parametrize("package", ("controlplane.acd", "controlplane.dialer",
                                     "controlplane.campaigns"))
def test_the_package_docstring_names_every_module(package: str) -> None:
    doc = importlib.import_module(package).__doc__ or ""
    missing = [m for m in _modules(package) if m.rsplit(".", 1)[1] not in doc]
    assert missing == [], f"{package}'s docstring does not say what these are: {missing}"


def test_the_check_can_fail(graph: grimp.ImportGraph) -> None:
    assert _does_io(graph, "controlplane.acd.service")
    assert not _does_io(graph, "controlplane.acd.agent_machine")
    assert "controlplane.acd.agent_machine" in PURE
