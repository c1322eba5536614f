"""Strict typing of the pure modules, from the one list of them (``make test``).

The pure modules are listed once, as the source modules of the ``pure`` import contract in
``pyproject.toml`` (``[tool.importlinter]``, checked by ``lint-imports``). This script runs
mypy on exactly those, with ``strict`` for each, except the ones in
``[tool.centrala.purity] strict_not_yet`` (pure, but not strict-clean yet), plus its
``strict_also`` (strict-clean, though not pure). Modules outside
the list are type-checked as they are imported, with the project's ordinary settings.

    python scripts/purity.py          # run mypy (exit status: mypy's)
    python scripts/purity.py --list   # print the files it would check
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"unsupported mypy setting {value!r}")


def strict_modules(pyproject: dict[str, object]) -> list[str]:
    """The pure contract's modules less ``strict_not_yet`` (in the contract's order), and
    ``strict_also`` (strict though not pure)."""
    tool = pyproject["tool"]
    assert isinstance(tool, dict)
    contracts = tool["importlinter"]["contracts"]
    (pure,) = [c for c in contracts if c.get("id") == "pure"]
    purity = tool.get("centrala", {}).get("purity", {})
    not_yet = set(purity.get("strict_not_yet", []))
    unknown = not_yet - set(pure["source_modules"])
    if unknown:
        raise SystemExit(f"strict_not_yet names modules that are not pure: {sorted(unknown)}")
    also = [m for m in purity.get("strict_also", []) if m not in pure["source_modules"]]
    return [m for m in pure["source_modules"] if m not in not_yet] + also


def module_file(module: str) -> Path:
    base = ROOT.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.exists():
            return path.relative_to(ROOT)
    raise SystemExit(f"pure module {module} has no file under {ROOT}")


def mypy_config(pyproject: dict[str, object], modules: list[str]) -> str:
    """``[tool.mypy]`` of pyproject.toml plus one override: ``strict`` for ``modules``."""
    tool = pyproject["tool"]
    assert isinstance(tool, dict)
    settings = {k: v for k, v in tool.get("mypy", {}).items() if k != "overrides"}
    lines = ["[tool.mypy]", *(f"{k} = {_toml_value(v)}" for k, v in settings.items())]
    for override in tool.get("mypy", {}).get("overrides", []):
        lines += ["", "[[tool.mypy.overrides]]",
                  *(f"{k} = {_toml_value(v)}" for k, v in override.items())]
    lines += ["", "[[tool.mypy.overrides]]", f"module = {_toml_value(modules)}",
              "strict = true", ""]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    modules = strict_modules(pyproject)
    files = [str(module_file(m)) for m in modules]
    if "--list" in argv:
        print("\n".join(files))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "pyproject.toml"
        config.write_text(mypy_config(pyproject, modules))
        return subprocess.call([sys.executable, "-m", "mypy", "--config-file", str(config),
                                *files], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
