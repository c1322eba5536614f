"""Reading blacklist patterns as people type them and blacklist files line by line
(:mod:`controlplane.campaigns.blacklist`): national numbers and prefixes in the region,
the trunk prefix dropped, header and comment lines skipped, every rejected line named,
and a file that is not text refused whole."""

from __future__ import annotations

import pytest

from controlplane.campaigns import blacklist as bl
from controlplane.campaigns.exceptions import FileRejected, InvalidNumber


@pytest.mark.parametrize(("raw", "is_prefix", "region", "stored"), [
    ("600 100 200", False, "PL", "+48600100200"),
    ("+48 600-100-200", False, "GB", "+48600100200"),
    ("0048600100200", False, "PL", "+48600100200"),
    ("020 7946 0958", False, "GB", "+442079460958"),
    ("+48 70", True, "PL", "+4870"),
    ("0048 70", True, "PL", "+4870"),
    ("700", True, "PL", "+48700"),
    ("020", True, "GB", "+4420"),  # the UK trunk prefix 0 is not part of the number
    ("800", True, "US", "+1800"),
])
def test_patterns_are_stored_in_e164(raw: str, is_prefix: bool, region: str, stored: str) -> None:
    assert bl.read_pattern(raw, is_prefix, region) == stored


@pytest.mark.parametrize(("raw", "is_prefix"), [("12", False), ("abc", False), ("", True),
                                                ("+48x", True), ("+" + "1" * 16, True)])
def test_bad_patterns_say_why(raw: str, is_prefix: bool) -> None:
    with pytest.raises(InvalidNumber) as err:
        bl.read_pattern(raw, is_prefix, "PL")
    assert err.value.reason


def test_a_file_line_by_line() -> None:
    data = ("numer,powód\n"
            "600 100 200,prośba klienta\n"
            "\n"
            "# comment\n"
            '"+48 601 100 200","quoted, with a comma"\n'
            "+4870*\n"
            "12\n"
            "601 100 201\n").encode()
    good, bad = bl.parse_file(data, "PL", "default")
    assert [(line, c.pattern, c.is_prefix, c.reason) for line, c in good] == [
        (2, "+48600100200", False, "prośba klienta"),
        (5, "+48601100200", False, "quoted, with a comma"),
        (6, "+4870", True, "default"),
        (8, "+48601100201", False, "default"),
    ]
    assert [(r.line, r.text) for r in bad] == [(7, "12")]


def test_semicolons_tabs_and_a_bom() -> None:
    good, bad = bl.parse_file("\ufeff600100200;a\n600100201;b\n".encode(), "PL")
    assert [c.reason for _l, c in good] == ["a", "b"] and not bad
    good, _ = bl.parse_file(b"600100200\tx\n", "PL")
    assert good[0][1].reason == "x"


def test_a_too_long_reason_rejects_its_line() -> None:
    _good, bad = bl.parse_file(f"600100200;{'x' * 201}\n".encode(), "PL")
    assert bad[0].line == 1 and "200" in bad[0].reason


@pytest.mark.parametrize("data", [b"\xff\xfe\x00", b"600100200\x00\n",
                                  b"1\n" * (bl.MAX_LINES + 1),
                                  b"x" * (bl.MAX_FILE_BYTES + 1)])
def test_a_file_that_is_not_a_list_is_refused_whole(data: bytes) -> None:
    with pytest.raises(FileRejected):
        bl.parse_file(data, "PL")
