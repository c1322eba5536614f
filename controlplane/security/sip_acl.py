"""Enforcing SIP bans inside Asterisk: the PJSIP global ACL, rendered (pure).

Why an Asterisk ACL and not fail2ban + a firewall
-------------------------------------------------
Both were tried on this machine. iptables (nf_tables) does work here on loopback, as
root: a DROP rule for 127.0.0.99 silenced UDP from it. fail2ban's asterisk jail would
then parse Asterisk's security log and insert such rules. We chose the ACL because:

* it needs no root, no firewall and no extra daemon: it works wherever Asterisk runs
  (our chroot, a container without NET_ADMIN), and only for *this* Asterisk: on a shared
  host (or our parallel test slots) a firewall rule on 127.0.0.5 would cut every other
  instance off from that address too;
* bans are ours: one table (with allow-list, repeat offenders, audit, panel, CLI and
  expiry) is the single source of truth, rendered into the ACL like the rest of the
  configuration; fail2ban keeps its own state, jail and unban clock beside ours;
* Asterisk answers a banned source with 403 at once (res_pjsip_acl runs before endpoint
  identification and authentication, priority 1), so it never reaches a digest check.

The price: a banned source's packets still reach Asterisk and are parsed (a flood
still costs some CPU, where a firewall DROP costs none), and the attacker learns it is
banned (403 instead of silence). For a volumetric flood put a firewall or an SBC in
front; this is about credentials.

How it is applied
-----------------
``sorcery.conf`` maps the PJSIP ``acl`` object type to its own file, ``pjsip_bans.conf``
(the category is ``[acl]``: res_pjsip_acl applies sorcery configuration under its type
name, not its module name; ``[res_pjsip]`` makes the module decline to load). One
section lists every banned address as ``deny`` (no ``permit``: everyone else passes).
An AMI ``Reload`` of ``res_pjsip.so`` then re-reads only the files that changed, so
pjsip.conf, registrations and calls are untouched (res_pjsip_acl itself has no reload).
With no bans the file holds only a comment: no ACL object, nothing refused.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

BANS_FILE = "pjsip_bans.conf"
SORCERY_CONF = f"[acl]\nacl = config,{BANS_FILE},criteria=type=acl\n"
SECTION = "centrala-bans"


def _host_mask(address: str) -> str:
    ip = ipaddress.ip_address(address)
    return f"{ip}/{32 if ip.version == 4 else 128}"


def render_bans(addresses: Iterable[str]) -> str:
    """``pjsip_bans.conf`` denying each address (sorted, de-duplicated, validated)."""
    hosts = sorted({_host_mask(a) for a in addresses},
                   key=lambda h: (ipaddress.ip_network(h).version, ipaddress.ip_network(h)))
    head = ("; Rendered by Centrala from the sip_ban table (controlplane/security). Do not edit:\n"
            "; use `centrala security bans|unban` or the panel.\n")
    if not hosts:
        return head + "; no active bans\n"
    return head + f"[{SECTION}]\ntype = acl\n" + "".join(f"deny = {h}\n" for h in hosts)


def banned_in(text: str) -> set[str]:
    """The addresses a rendered file denies (to compare what Asterisk has with the table)."""
    out = set()
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "deny" and value.strip():
            out.add(str(ipaddress.ip_network(value.strip(), strict=False).network_address))
    return out
