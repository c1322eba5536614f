"""Errors found while rendering configuration: each names the object and field."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConfigProblem:
    obj: str  # e.g. "trunk 'lab-carrier' (id 1)"
    field: str  # e.g. "host"
    message: str

    def __str__(self) -> str:
        return f"{self.obj}, field '{self.field}': {self.message}"


class ConfigError(ValueError):
    """Rendering refused; ``problems`` lists every problem found, not just the first."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("configuration refused:\n" + "\n".join(f"  - {p}" for p in problems))
