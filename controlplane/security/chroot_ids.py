"""The Asterisk chroot's service user gets a uid and gid that no host account has.

Debian's ``asterisk`` package creates its user with the next free *system* id of the
chroot (101 here), and on the host that id may well be somebody else: on this machine
uid 101 is ``postgres``. Outside the chroot the kernel only sees numbers, so an Asterisk
that is broken into could read and write whatever that host account owns (a database
cluster, its keys). Provisioning therefore renumbers the chroot's ``asterisk`` user and
group to ids free on the host, picked in a band nobody hands out (``ID_BAND``: above the
ids ``adduser`` gives people by a wide margin, below systemd's dynamic users
61184-65519, 16-bit safe), and gives the files of the root filesystem that belonged to
the old ids to the new ones.

Idempotent: when the chroot's ids are already free on the host nothing is done, so an
existing cached root is fixed once and then left alone. Mounted folders inside the root
(``/proc``, the runtime folders bind-mounted for running instances) are never walked:
their ownership is :meth:`controlplane.asterisk.Instance.fix_ownership`'s business, which
follows the ids of a running Asterisk, so renumbering while instances run harms none.

The parsing and the choice are pure; :func:`ensure_unique_ids` does the I/O.
"""

from __future__ import annotations

import fcntl
import grp
import os
import pwd
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

ID_BAND = range(50500, 51000)
USER = "asterisk"


class ChrootIdsError(RuntimeError):
    """The chroot's users cannot be read or renumbered; the message says why."""


@dataclass(frozen=True)
class Renumbered:
    old_uid: int
    old_gid: int
    uid: int
    gid: int
    files: int  # files and folders whose owner or group changed


def ids_of(passwd: str, group: str, user: str = USER) -> tuple[int, int]:
    """``user``'s uid and the gid of its group of the same name (else its primary group)."""
    for line in passwd.splitlines():
        parts = line.split(":")
        if len(parts) >= 4 and parts[0] == user:
            uid, gid = int(parts[2]), int(parts[3])
            break
    else:
        raise ChrootIdsError(f"no user {user!r} in the chroot's /etc/passwd")
    for line in group.splitlines():
        parts = line.split(":")
        if len(parts) >= 3 and parts[0] == user:
            gid = int(parts[2])
    return uid, gid


def pick_free(taken: Callable[[int], bool], band: Iterable[int] = ID_BAND,
              also_taken: frozenset[int] = frozenset()) -> int:
    """The first id of ``band`` that ``taken`` does not claim."""
    for candidate in band:
        if candidate not in also_taken and not taken(candidate):
            return candidate
    raise ChrootIdsError(f"no free id in {band}")


def with_ids(passwd: str, group: str, user: str, uid: int, gid: int,
             old_gid: int) -> tuple[str, str]:
    """``passwd`` and ``group`` texts with ``user``'s uid/gid (and its group's gid) changed."""
    out_passwd = []
    for line in passwd.splitlines():
        parts = line.split(":")
        if len(parts) >= 4 and parts[0] == user:
            parts[2], parts[3] = str(uid), str(gid)
        elif len(parts) >= 4 and parts[3] == str(old_gid):
            parts[3] = str(gid)  # another account whose primary group was the old one
        out_passwd.append(":".join(parts))
    out_group = []
    for line in group.splitlines():
        parts = line.split(":")
        if len(parts) >= 3 and parts[0] == user:
            parts[2] = str(gid)
        out_group.append(":".join(parts))
    return "\n".join(out_passwd) + "\n", "\n".join(out_group) + "\n"


def host_uid_taken(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
    except KeyError:
        return False
    return True


def host_gid_taken(gid: int) -> bool:
    try:
        grp.getgrgid(gid)
    except KeyError:
        return False
    return True


def ensure_unique_ids(root: Path, *, uid_taken: Callable[[int], bool] = host_uid_taken,
                      gid_taken: Callable[[int], bool] = host_gid_taken,
                      band: Iterable[int] = ID_BAND) -> Renumbered | None:
    """Renumber ``root``'s asterisk user and group if the host has either id; None when
    they are already free. Serialised by a lock file in ``root`` (provisioning may run in
    several processes at once)."""
    etc = root / "etc"
    with open(root / ".centrala-ids.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        passwd, group = (etc / "passwd").read_text(), (etc / "group").read_text()
        old_uid, old_gid = ids_of(passwd, group)
        if not uid_taken(old_uid) and not gid_taken(old_gid):
            return None
        chroot_uids = _column(passwd, 2)
        chroot_gids = _column(group, 2)
        band = list(band)
        uid = old_uid if not uid_taken(old_uid) else pick_free(
            lambda i: uid_taken(i) or gid_taken(i), band, chroot_uids | chroot_gids)
        gid = old_gid if not gid_taken(old_gid) else (
            uid if uid not in chroot_gids and not gid_taken(uid)
            else pick_free(gid_taken, band, chroot_gids | {uid}))
        new_passwd, new_group = with_ids(passwd, group, USER, uid, gid, old_gid)
        _replace(etc / "passwd", new_passwd)
        _replace(etc / "group", new_group)
        files = _chown_tree(root, {old_uid: uid}, {old_gid: gid})
        return Renumbered(old_uid, old_gid, uid, gid, files)


def _column(text: str, index: int) -> frozenset[int]:
    out = set()
    for line in text.splitlines():
        parts = line.split(":")
        if len(parts) > index and parts[index].isdigit():
            out.add(int(parts[index]))
    return frozenset(out)


def _replace(path: Path, text: str) -> None:
    st = path.stat()
    tmp = path.with_name(path.name + ".centrala-tmp")
    tmp.write_text(text)
    os.chmod(tmp, st.st_mode & 0o7777)
    os.chown(tmp, st.st_uid, st.st_gid)
    os.replace(tmp, path)


def mount_points_under(root: Path) -> set[str]:
    """Mount points strictly inside ``root`` (mountinfo's 5th field, octal escapes decoded)."""
    prefix = str(root).rstrip("/") + "/"
    points = set()
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].encode().decode("unicode_escape")
            if point.startswith(prefix):
                points.add(point)
    return points


def _chown_tree(root: Path, uids: dict[int, int], gids: dict[int, int]) -> int:
    """Give what ``uids``/``gids`` map from to what they map to, never entering mounts."""
    skip = mount_points_under(root)
    changed = _chown_one(str(root), uids, gids)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) not in skip]
        for name in (*dirnames, *filenames):
            changed += _chown_one(os.path.join(dirpath, name), uids, gids)
    return changed


def _chown_one(path: str, uids: dict[int, int], gids: dict[int, int]) -> int:
    st = os.lstat(path)
    uid, gid = uids.get(st.st_uid, -1), gids.get(st.st_gid, -1)
    if uid == -1 and gid == -1:
        return 0
    os.chown(path, uid, gid, follow_symlinks=False)
    if not os.path.islink(path) and st.st_mode & 0o6000:
        os.chmod(path, st.st_mode & 0o7777)  # chown clears the setuid/setgid bits
    return 1
