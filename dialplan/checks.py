"""Validation of telephony data before it becomes Asterisk configuration.

Pure functions over plain rows; they return problems instead of raising so a
caller sees every problem at once.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable

from dialplan.problems import ConfigProblem

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
RESERVED_NAMES = frozenset({"transport-udp", "transport-tcp", "global", "system", "anonymous"})


def normalise_number(number: str) -> str:
    """Digits only (a leading + and spaces/dashes dropped) so '+48 22 100' equals '4822100'."""
    return re.sub(r"[^0-9]", "", number)


def check_name(obj: str, name: str) -> list[ConfigProblem]:
    if not NAME_RE.match(name):
        return [ConfigProblem(obj, "name", f"'{name}' is not a valid SIP object name: use letters, "
                              "digits, '-', '_' or '.', at most 64 characters, starting with a letter or digit")]
    if name in RESERVED_NAMES:
        return [ConfigProblem(obj, "name", f"'{name}' is reserved by the platform; choose another name")]
    return []


def check_host(obj: str, host: str) -> list[ConfigProblem]:
    try:
        ipaddress.ip_address(host)
        return []
    except ValueError:
        pass
    if HOSTNAME_RE.match(host) and not host.replace(".", "").isdigit():
        return []
    return [ConfigProblem(obj, "host", f"'{host}' is neither an IP address nor a valid host name")]


def check_port(obj: str, field: str, port: int) -> list[ConfigProblem]:
    if not 1 <= port <= 65535:
        return [ConfigProblem(obj, field, f"port {port} is outside 1-65535")]
    return []


def find_duplicates(obj_kind: str, field: str, items: Iterable[tuple[str, str]],
                    key=lambda v: v) -> list[ConfigProblem]:
    """``items`` are (object label, value); report every value seen twice (after ``key``)."""
    seen: dict[str, str] = {}
    problems = []
    for label, value in items:
        k = key(value)
        if k in seen:
            problems.append(ConfigProblem(label, field, f"{obj_kind} '{value}' duplicates {seen[k]}"))
        else:
            seen[k] = label
    return problems


def port_free(host: str, port: int, kind: int = socket.SOCK_STREAM) -> bool:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def check_ports_free(obj: str, host: str, ports: dict[str, int]) -> list[ConfigProblem]:
    """Ports another program already holds (call only while our Asterisk is stopped)."""
    problems = []
    seen: dict[int, str] = {}
    for field, port in ports.items():
        if port in seen:
            problems.append(ConfigProblem(obj, field, f"port {port} is also used for '{seen[port]}'"))
            continue
        seen[port] = field
        kinds = (socket.SOCK_STREAM, socket.SOCK_DGRAM) if field == "sip" else (socket.SOCK_STREAM,)
        if not all(port_free(host, port, k) for k in kinds):
            problems.append(ConfigProblem(obj, field, f"port {port} on {host} is in use by another program"))
    return problems
