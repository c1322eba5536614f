"""Asterisk provisioning and process control (``centrala asterisk provision|start|stop|status``).

Theory of operation: Debian bookworm has no Asterisk; Debian sid has 22. We use
``asterisk`` from PATH when it is version 20 or newer; otherwise we build (once)
a sid root filesystem with ``docker/asterisk-rootfs.sh``, cached outside the
checkout, and run Asterisk chrooted in it. The project's runtime folder is
bind-mounted into the root at the *same absolute path*, so every path in the
rendered configuration means the same file inside and outside the chroot.

Two instances share the root filesystem: ``platform`` (the product) and ``lab``
(the world that calls it). Each has its own ``asterisk.conf`` whose
``[directories]`` point at ``<runtime>/<instance>/{etc,spool,log,lib,run}``;
modules and sounds come from the root filesystem.

Asterisk runs as the chroot's ``asterisk`` user, whose ids provisioning makes unique on
the host (:mod:`controlplane.security.chroot_ids`), with umask 027: what it writes
(recordings, logs) is readable by the service and the Asterisk group, by nobody else.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from controlplane.config import PROJECT_ROOT, Ports, Settings
from controlplane.procs.pids import ids_of, read_pid
from controlplane.security import chroot_ids

MIN_VERSION = 20
ROOTFS_SCRIPT = PROJECT_ROOT / "docker" / "asterisk-rootfs.sh"
INSTANCE_DIRS = ("etc", "spool", "spool/recording", "log", "lib", "run", "sounds")
ASTERISK_UMASK = 0o027  # recordings 0640: the service and the Asterisk group read them


class AsteriskError(RuntimeError):
    """Provisioning or process control failed; the message says what to do."""


@dataclass(frozen=True)
class Installation:
    """Where Asterisk lives: ``root`` is ``/`` for a system install, else the chroot."""

    root: Path
    binary: str
    module_dir: str
    data_dir: str
    version: str

    @property
    def chrooted(self) -> bool:
        return self.root != Path("/")

    def command(self, *args: str) -> list[str]:
        base = [self.binary, *args]
        return ["chroot", str(self.root), *base] if self.chrooted else base


def _version_of(cmd: list[str]) -> str | None:
    try:
        out = subprocess.run([*cmd, "-V"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"Asterisk (\d+)[.\d]*\S*", out)
    return m.group(0) if m else None


def _major(version: str) -> int:
    m = re.search(r"Asterisk (\d+)", version)
    return int(m.group(1)) if m else 0


def find_system_asterisk() -> Installation | None:
    path = shutil.which("asterisk")
    if not path:
        return None
    version = _version_of([path])
    if not version or _major(version) < MIN_VERSION:
        return None
    moddir = "/usr/lib/x86_64-linux-gnu/asterisk/modules"
    for cand in (moddir, "/usr/lib/asterisk/modules", "/usr/lib64/asterisk/modules"):
        if Path(cand).is_dir():
            moddir = cand
            break
    return Installation(Path("/"), path, moddir, "/usr/share/asterisk", version)


def rootfs_installation(root: Path) -> Installation | None:
    if not (root / ".centrala-ready").exists():
        return None
    version = (root / ".centrala-version").read_text().strip()
    moddirs = sorted(root.glob("usr/lib/*/asterisk/modules"))
    if not moddirs:
        return None
    return Installation(root, "/usr/sbin/asterisk", "/" + str(moddirs[0].relative_to(root)),
                        "/usr/share/asterisk", version)


def provision(settings: Settings, *, allow_system: bool = True) -> Installation:
    """Return a usable Asterisk, building the root filesystem if needed (idempotent)."""
    if allow_system and (found := find_system_asterisk()):
        return found
    if (found := rootfs_installation(settings.asterisk_root)) is not None:
        _unique_ids(found)
        return found
    if os.geteuid() != 0:
        raise AsteriskError(
            "no Asterisk >= 20 on PATH and building its root filesystem needs root: "
            "run `make up` (or `centrala asterisk provision`) as root"
        )
    proc = subprocess.run(["bash", str(ROOTFS_SCRIPT), str(settings.asterisk_root)])
    if proc.returncode == 3:
        raise AsteriskError(f"not enough free disk for {settings.asterisk_root} (see message above)")
    if proc.returncode != 0:
        raise AsteriskError(f"building the Asterisk root filesystem failed (exit {proc.returncode})")
    found = rootfs_installation(settings.asterisk_root)
    if found is None:
        raise AsteriskError(f"{settings.asterisk_root} is incomplete after provisioning")
    _unique_ids(found)
    return found


def _unique_ids(inst: Installation) -> None:
    """Give the chroot's asterisk user ids no host account has (idempotent; needs root)."""
    if not inst.chrooted or os.geteuid() != 0:
        return
    try:
        done = chroot_ids.ensure_unique_ids(inst.root)
    except (OSError, chroot_ids.ChrootIdsError) as err:
        raise AsteriskError(f"cannot give the chroot's asterisk user ids of its own: {err}") from err
    if done is not None:
        print(f"asterisk chroot: user asterisk renumbered {done.old_uid}:{done.old_gid} -> "
              f"{done.uid}:{done.gid} (the old ids belong to host accounts); "
              f"{done.files} files re-owned")


def installation(settings: Settings) -> Installation:
    """The provisioned Asterisk, without building anything."""
    found = find_system_asterisk() or rootfs_installation(settings.asterisk_root)
    if found is None:
        raise AsteriskError("Asterisk is not provisioned: run `centrala asterisk provision`")
    return found


def _mounted(target: Path) -> bool:
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == str(target) for line in f)


def ensure_mounts(inst: Installation, runtime_dir: Path) -> None:
    """Mount /proc and bind the runtime folder into the chroot at the same path."""
    if not inst.chrooted:
        return
    proc = inst.root / "proc"
    if not _mounted(proc):
        subprocess.run(["mount", "-t", "proc", "proc", str(proc)], check=True)
    target = inst.root / str(runtime_dir).lstrip("/")
    _traversable_path(inst.root, target)
    if not _mounted(target):
        subprocess.run(["mount", "--bind", str(runtime_dir), str(target)], check=True)


def _traversable_path(root: Path, target: Path) -> None:
    """Create the mount point inside the chroot with parents the chroot's Asterisk user can
    walk through (0755, whatever the umask: our processes run with umask 077, and a 0700
    ``<root>/work`` would hide a runtime folder such as ``/work/main/var`` from Asterisk)."""
    path = root
    for part in target.relative_to(root).parts:
        path = path / part
        if not path.exists():
            path.mkdir(mode=0o755)
        if path != target and path.stat().st_mode & 0o005 != 0o005:
            path.chmod(path.stat().st_mode | 0o005)


def release_mounts(inst: Installation, runtime_dir: Path) -> None:
    if not inst.chrooted:
        return
    target = inst.root / str(runtime_dir).lstrip("/")
    if _mounted(target):
        subprocess.run(["umount", "-l", str(target)], check=False)


class Instance:
    """One Asterisk process: ``platform`` or ``lab``."""

    def __init__(self, name: str, settings: Settings, inst: Installation, ports: Ports,
                 entity_id: str) -> None:
        self.name = name
        self.settings = settings
        self.inst = inst
        self.ports = ports
        self.entity_id = entity_id
        self.base = settings.runtime_dir / name

    @property
    def conf(self) -> Path:
        return self.base / "etc" / "asterisk.conf"

    def dir(self, sub: str) -> Path:
        return self.base / sub

    def prepare_dirs(self) -> None:
        for sub in INSTANCE_DIRS:
            self.dir(sub).mkdir(parents=True, exist_ok=True)

    def asterisk_conf(self) -> str:
        d = self.dir
        return (
            "[directories]\n"
            f"astetcdir => {d('etc')}\nastmoddir => {self.inst.module_dir}\n"
            f"astvarlibdir => {d('lib')}\nastdbdir => {d('lib')}\nastkeydir => {d('lib')}\n"
            f"astdatadir => {self.inst.data_dir}\nastagidir => {d('lib')}/agi-bin\n"
            f"astspooldir => {d('spool')}\nastrundir => {d('run')}\nastlogdir => {d('log')}\n"
            "astsbindir => /usr/sbin\n\n"
            "[options]\n"
            f"systemname = {self.name}\nentityid = {self.entity_id}\n"
            "verbose = 3\ndebug = 0\nmaxload = 0\ndocumentation_language = en_US\n"
            "hideconnect = yes\ntransmit_silence = yes\n"
        )

    def fix_ownership(self) -> None:
        """Files must belong to the user Asterisk runs as (unprivileged), and to nobody
        else: every permission of "others" is taken away. The runtime folder above lets the
        Asterisk group walk through (``0750``); see :mod:`controlplane.security.file_modes`."""
        uid, gid = self.owner_ids()
        for path in [self.base, *self.base.rglob("*")]:
            os.chown(path, uid, gid, follow_symlinks=False)
            if not path.is_symlink():
                mode = path.stat().st_mode & 0o7777
                if mode & 0o007:
                    os.chmod(path, mode & ~0o007)
        runtime = self.settings.runtime_dir
        st = runtime.stat()
        if st.st_gid != gid or st.st_mode & 0o777 != 0o750:
            os.chown(runtime, -1, gid)
            os.chmod(runtime, 0o750)

    def owner_ids(self) -> tuple[int, int]:
        """The ids Asterisk's files must have: those of the running process if it runs (it
        keeps the ids it started with even if the chroot's user was renumbered since),
        else the chroot's asterisk user's."""
        pid = self.pid()
        if pid is not None and (ids := ids_of(pid)) is not None and ids != (0, 0):
            return ids
        return self._asterisk_ids()

    def pid(self) -> int | None:
        """The pid in Asterisk's own pid file, if that process is alive (not a zombie)."""
        return read_pid(self.dir("run") / "asterisk.pid")

    def _asterisk_ids(self) -> tuple[int, int]:
        passwd = (self.inst.root / "etc" / "passwd").read_text()
        for line in passwd.splitlines():
            parts = line.split(":")
            if parts[0] == "asterisk":
                return int(parts[2]), int(parts[3])
        raise AsteriskError("no asterisk user in the Asterisk root filesystem")

    def cli(self, command: str, timeout: float = 15) -> str:
        """Run one CLI command against this instance (``asterisk -C conf -rx``)."""
        proc = subprocess.run(
            self.inst.command("-C", str(self.conf), "-rx", command),
            capture_output=True, text=True, timeout=timeout,
        )
        if proc.returncode != 0:
            raise AsteriskError(f"{self.name}: `{command}` failed: {proc.stderr.strip() or proc.stdout.strip()}")
        return proc.stdout

    def running(self) -> bool:
        if self.pid() is None:
            return False
        try:
            self.cli("core show version", timeout=5)
        except (AsteriskError, subprocess.TimeoutExpired):
            return False
        return True

    def start(self, timeout: float = 30) -> None:
        """Start (if not running) and wait until fully booted."""
        if self.running():
            return
        subprocess.run(self._start_command(), check=True, timeout=30, umask=ASTERISK_UMASK,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wait_booted(timeout)

    def _start_command(self, *extra: str) -> list[str]:
        ensure_mounts(self.inst, self.settings.runtime_dir)
        self.fix_ownership()
        args = ["-C", str(self.conf), "-n", *extra]
        if self.inst.chrooted or os.geteuid() == 0:
            args += ["-U", "asterisk", "-G", "asterisk"]
        return self.inst.command(*args)

    def spawn_foreground(self, log: Path) -> subprocess.Popen[bytes]:
        """Start Asterisk as our child, in the foreground (``-f``: no fork), output to
        ``log``: how the supervisor runs it, so it learns at once when and how it died."""
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            os.chmod(log, 0o600)
            return subprocess.Popen(self._start_command("-f"), stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=subprocess.STDOUT, umask=ASTERISK_UMASK,
                                    start_new_session=True)

    def booted(self, timeout: float = 5) -> bool:
        """This instance answers its CLI and has fully booted ("Asterisk has fully booted.")."""
        try:
            return "fully booted" in self.cli("core waitfullybooted", timeout=timeout).lower()
        except (AsteriskError, subprocess.TimeoutExpired):
            return False

    def wait_booted(self, timeout: float = 30) -> None:
        """Wait until this instance answers and is fully booted."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.booted(timeout=10):
                return
            time.sleep(0.2)
        raise AsteriskError(f"{self.name} Asterisk did not boot in {timeout:.0f} s; see {self.dir('log')}/messages.log")

    def stop(self, timeout: float = 20) -> None:
        """Stop cleanly (``core stop now``), or kill after ``timeout`` (also a hung one)."""
        if self.pid() is None:
            return
        with contextlib.suppress(AsteriskError, subprocess.TimeoutExpired):
            self.cli("core stop now", timeout=10)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.pid() is not None:
            time.sleep(0.2)
        if (pid := self.pid()) is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
