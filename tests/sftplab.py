"""A real OpenSSH SFTP server on loopback for tests (Debian's ``openssh-server``).

:func:`running_sshd` starts ``/usr/sbin/sshd`` in the foreground with a throwaway config:
its own host key, one allowed user (whoever runs the tests), keys only (no password, no
PAM), ``internal-sftp`` forced (no shell), on 127.0.0.1 and a free port. ``authorized_keys``
is a file the test writes. The server stops when the context exits.
"""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SSHD = "/usr/sbin/sshd"


@dataclass(frozen=True)
class Sshd:
    port: int
    user: str
    root: Path  # the folder the SFTP session starts in
    authorized_keys: Path
    host_key_line: str  # "ssh-ed25519 AAAA…" (the server's public key)

    def authorize(self, public_key: str) -> None:
        self.authorized_keys.write_text(public_key.strip() + "\n")
        self.authorized_keys.chmod(0o600)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_sshd(folder: Path) -> Iterator[Sshd]:
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    key = folder / "host_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    root = folder / "archive"
    root.mkdir()
    keys = folder / "authorized_keys"
    keys.write_text("")
    keys.chmod(0o600)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation folder
    port, user = _free_port(), getpass.getuser()
    config = folder / "sshd_config"
    config.write_text("\n".join([
        f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {key}",
        f"PidFile {folder / 'sshd.pid'}", f"AuthorizedKeysFile {keys}",
        "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no",
        "PubkeyAuthentication yes", "PermitRootLogin prohibit-password", "StrictModes no",
        f"AllowUsers {user}", "Subsystem sftp internal-sftp",
        f"ForceCommand internal-sftp -d {root}", "AllowTcpForwarding no", ""]))
    log = (folder / "sshd.log").open("wb")
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)],
                            stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + 15
        while True:
            assert proc.poll() is None, (folder / "sshd.log").read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "sshd did not listen within 15 s"
                time.sleep(0.05)
        line = " ".join(Path(f"{key}.pub").read_text().split()[:2])
        yield Sshd(port, user, root, keys, line)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
