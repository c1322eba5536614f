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

MIN_VERSION = 20
ROOTFS_SCRIPT = PROJECT_ROOT / "docker" / "asterisk-rootfs.sh"
INSTANCE_DIRS = ("etc", "spool", "spool/recording", "log", "lib", "run", "sounds")


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
    return found


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
    target.mkdir(parents=True, exist_ok=True)
    if not _mounted(target):
        subprocess.run(["mount", "--bind", str(runtime_dir), str(target)], check=True)


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
        """Files must belong to the chroot's asterisk user (it runs unprivileged)."""
        uid, gid = self._asterisk_ids()
        for path in [self.base, *self.base.rglob("*")]:
            os.chown(path, uid, gid, follow_symlinks=False)

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
        pidfile = self.dir("run") / "asterisk.pid"
        if not pidfile.exists():
            return False
        try:
            pid = int(pidfile.read_text().strip())
            os.kill(pid, 0)
        except (ValueError, ProcessLookupError):
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
        ensure_mounts(self.inst, self.settings.runtime_dir)
        self.fix_ownership()
        args = ["-C", str(self.conf), "-n"]
        if self.inst.chrooted or os.geteuid() == 0:
            args += ["-U", "asterisk", "-G", "asterisk"]
        subprocess.run(self.inst.command(*args), check=True, timeout=30,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if "Fully Booted" in self.cli("core waitfullybooted", timeout=10) or self.running():
                    return
            except (AsteriskError, subprocess.TimeoutExpired):
                pass
            time.sleep(0.2)
        raise AsteriskError(f"{self.name} Asterisk did not boot in {timeout:.0f} s; see {self.dir('log')}/messages.log")

    def stop(self, timeout: float = 20) -> None:
        if not self.running():
            return
        with contextlib.suppress(AsteriskError, subprocess.TimeoutExpired):
            self.cli("core stop now", timeout=10)
        pidfile = self.dir("run") / "asterisk.pid"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.running():
            time.sleep(0.2)
        if pidfile.exists():
            with contextlib.suppress(ValueError, ProcessLookupError):
                os.kill(int(pidfile.read_text().strip()), 9)
