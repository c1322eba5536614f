"""The runtime folder's mount point inside the Asterisk chroot can be walked by Asterisk's
user, whatever the umask of the process that creates it (ours run with 077)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from controlplane.asterisk import _traversable_path


def test_parents_are_walkable_under_umask_077(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "work").mkdir(mode=0o700)  # left by an earlier start with umask 077
    os.chmod(root / "work", 0o700)
    target = root / "work" / "main" / "var"
    old = os.umask(0o077)
    try:
        _traversable_path(root, target)
    finally:
        os.umask(old)
    assert target.is_dir()
    for parent in (root / "work", root / "work" / "main"):
        mode = stat.S_IMODE(parent.stat().st_mode)
        assert mode & 0o005 == 0o005, f"{parent} is {oct(mode)}"
