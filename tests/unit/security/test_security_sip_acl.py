"""Rendering the PJSIP ACL that enforces SIP bans."""

from __future__ import annotations

import pytest

from controlplane.security.sip_acl import BANS_FILE, SORCERY_CONF, banned_in, render_bans


def test_no_bans_renders_no_acl_object() -> None:
    text = render_bans([])
    assert "type = acl" not in text and "[" not in text
    assert all(line.startswith(";") for line in text.splitlines())


def test_bans_are_denied_one_host_each_sorted_and_unique() -> None:
    text = render_bans(["198.51.100.7", "127.0.0.5", "2001:db8::1", "127.0.0.5"])
    assert text.splitlines()[2:] == [
        "[centrala-bans]", "type = acl",
        "deny = 127.0.0.5/32", "deny = 198.51.100.7/32", "deny = 2001:db8::1/128"]
    assert "permit" not in text  # deny only: everyone else passes
    assert banned_in(text) == {"127.0.0.5", "198.51.100.7", "2001:db8::1"}


def test_a_bad_address_never_reaches_asterisk() -> None:
    with pytest.raises(ValueError):
        render_bans(["127.0.0.5\n[evil]\ntype = endpoint"])


def test_sorcery_maps_the_acl_type_to_the_bans_file() -> None:
    # the category is the type name: res_pjsip_acl applies sorcery config under "acl"
    assert f"[acl]\nacl = config,{BANS_FILE},criteria=type=acl\n" == SORCERY_CONF
