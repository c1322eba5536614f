"""A tenant's IP allow-list: CIDR networks, IPv4 and IPv6, and the one question it answers.

Theory of operation: the list is stored as the strings the administrator typed, after
normalising (``10.1.2.3/24`` is kept as ``10.1.2.0/24``; a bare address is a /32 or
/128). An empty list allows every address. An IPv4 client reaching a dual-stack socket
shows up as ``::ffff:a.b.c.d``; it is matched as the IPv4 address it is. An address that
does not parse (a unix socket, "unknown") is allowed by no non-empty list. Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_ENTRIES = 200


class BadEntry(ValueError):
    """One entry of the list is not a network; ``index`` says which."""

    def __init__(self, index: int, entry: str, reason: str) -> None:
        super().__init__(f"entry {index + 1} ({entry!r}): {reason}")
        self.index, self.entry, self.reason = index, entry, reason


def parse(entries: Iterable[str]) -> list[Network]:
    """The networks of ``entries`` (blank entries skipped, duplicates kept once)."""
    networks: list[Network] = []
    for i, raw in enumerate(entries):
        entry = raw.strip()
        if not entry:
            continue
        try:
            net = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise BadEntry(i, entry, "not an IPv4 or IPv6 address or CIDR network") from None
        if net not in networks:
            networks.append(net)
    if len(networks) > MAX_ENTRIES:
        raise BadEntry(MAX_ENTRIES, "", f"at most {MAX_ENTRIES} networks")
    return networks


def normalise(entries: Iterable[str]) -> list[str]:
    """``entries`` as they are stored: one canonical CIDR string each."""
    return [str(n) for n in parse(entries)]


def address_of(text: str) -> Address | None:
    try:
        addr = ipaddress.ip_address(text.strip().split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def allows(networks: Sequence[Network], address: str) -> bool:
    """Whether ``address`` may come in: always when the list is empty."""
    if not networks:
        return True
    addr = address_of(address)
    if addr is None:
        return False
    return any(addr.version == n.version and addr in n for n in networks)
