"""The chroot's asterisk user gets ids no host account has (on a small fake root)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from controlplane.security import chroot_ids as ci

PASSWD = """root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
asterisk:x:101:101:Asterisk PBX daemon:/var/lib/asterisk:/usr/sbin/nologin
"""
GROUP = """root:x:0:
dialout:x:20:asterisk
asterisk:x:101:
"""
HOST_UIDS = {0, 1, 101, 50500}  # 101 is postgres on the host, 50500 someone else
HOST_GIDS = {0, 1, 101}


def fake_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text(PASSWD)
    (root / "etc" / "group").write_text(GROUP)
    for sub in ("var/lib/asterisk", "var/spool/asterisk/recording", "usr/sbin"):
        (root / sub).mkdir(parents=True)
    os.chown(root / "var/lib/asterisk", 101, 101)
    os.chown(root / "var/spool/asterisk", 101, 101)
    os.chown(root / "var/spool/asterisk/recording", 101, 101)
    (root / "var/lib/asterisk/astdb.sqlite3").write_text("db")
    os.chown(root / "var/lib/asterisk/astdb.sqlite3", 101, 101)
    (root / "usr/sbin/tool").write_text("#!/bin/sh\n")
    os.chown(root / "usr/sbin/tool", 0, 101)
    os.chmod(root / "usr/sbin/tool", 0o2755)  # setgid to the asterisk group
    os.symlink("/nonexistent", root / "var/lib/asterisk/link")
    os.lchown(root / "var/lib/asterisk/link", 101, 101)
    return root


def test_pure_parsing_and_rewriting() -> None:
    assert ci.ids_of(PASSWD, GROUP) == (101, 101)
    passwd, group = ci.with_ids(PASSWD, GROUP, "asterisk", 50501, 50502, 101)
    assert ci.ids_of(passwd, group) == (50501, 50502)
    assert "root:x:0:0:root:/root:/bin/bash" in passwd and "dialout:x:20:asterisk" in group
    assert ci.pick_free(lambda i: i in HOST_UIDS, range(50500, 50510)) == 50501
    with pytest.raises(ci.ChrootIdsError, match="no free id"):
        ci.pick_free(lambda i: True, range(3))
    with pytest.raises(ci.ChrootIdsError, match="no user 'asterisk'"):
        ci.ids_of("root:x:0:0::/:/bin/sh\n", "")


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_renumbers_once_and_re_owns_the_files_but_not_mounts(tmp_path: Path) -> None:
    root = fake_root(tmp_path)
    # a runtime folder bind-mounted into the root, as for a running instance: never walked
    outside = tmp_path / "runtime"
    outside.mkdir()
    (outside / "rec.wav").write_text("x")
    os.chown(outside / "rec.wav", 101, 101)
    mnt = root / "tmp" / "runtime"
    mnt.mkdir(parents=True)
    subprocess.run(["mount", "--bind", str(outside), str(mnt)], check=True)
    try:
        done = ci.ensure_unique_ids(root, uid_taken=HOST_UIDS.__contains__,
                                    gid_taken=HOST_GIDS.__contains__)
        assert ci.mount_points_under(root) == {str(mnt)}
    finally:
        subprocess.run(["umount", str(mnt)], check=True)
    assert done == ci.Renumbered(101, 101, 50501, 50501, files=6)
    passwd, group = (root / "etc/passwd").read_text(), (root / "etc/group").read_text()
    assert ci.ids_of(passwd, group) == (50501, 50501)
    for sub in ("var/lib/asterisk", "var/lib/asterisk/astdb.sqlite3", "var/spool/asterisk",
                "var/spool/asterisk/recording"):
        st = (root / sub).stat()
        assert (st.st_uid, st.st_gid) == (50501, 50501), sub
    link = os.lstat(root / "var/lib/asterisk/link")
    assert (link.st_uid, link.st_gid) == (50501, 50501)
    tool = (root / "usr/sbin/tool").stat()
    assert (tool.st_uid, tool.st_gid, tool.st_mode & 0o7777) == (0, 50501, 0o2755)
    # what was mounted kept its owner (that is fix_ownership's business)
    assert (outside / "rec.wav").stat().st_uid == 101
    # root's own files untouched
    assert (root / "etc/passwd").stat().st_uid == 0
    # idempotent: the ids are free on the host now
    assert ci.ensure_unique_ids(root, uid_taken=HOST_UIDS.__contains__,
                                gid_taken=HOST_GIDS.__contains__) is None


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_only_the_taken_id_changes(tmp_path: Path) -> None:
    root = fake_root(tmp_path)
    done = ci.ensure_unique_ids(root, uid_taken=lambda i: i in {0, 1},
                                gid_taken=HOST_GIDS.__contains__, band=range(60000, 60010))
    assert done is not None and (done.uid, done.gid) == (101, 60000)
    assert ci.ids_of((root / "etc/passwd").read_text(), (root / "etc/group").read_text()) == (
        101, 60000)
    assert (root / "var/lib/asterisk").stat().st_uid == 101
    assert (root / "var/lib/asterisk").stat().st_gid == 60000


def test_the_real_root_has_ids_of_its_own() -> None:
    """The provisioned chroot (if this machine has one): no host account shares its ids."""
    from controlplane.config import load_settings

    root = load_settings().asterisk_root
    if not (root / ".centrala-ready").exists():
        pytest.skip("no provisioned Asterisk root filesystem here")
    uid, gid = ci.ids_of((root / "etc/passwd").read_text(), (root / "etc/group").read_text())
    if ci.host_uid_taken(uid) or ci.host_gid_taken(gid):
        pytest.skip("not provisioned by this version yet (`centrala asterisk provision`)")
    assert uid in ci.ID_BAND and gid in ci.ID_BAND
