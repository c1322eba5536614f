"""Every admin change is applied to Asterisk by the platform: validate, render, swap, reload.

Theory of operation. A change to phones, trunks or DIDs goes through two steps:

1. :func:`check` renders the whole platform configuration from the *uncommitted* session
   (the change flushed, not committed). A render that fails raises
   :class:`~controlplane.admin.exceptions.ConfigRefused`: the caller's transaction rolls
   back, so neither the database nor Asterisk's files change, and the form shows every
   problem (object and field).
2. After the commit, :func:`apply` renders again from a fresh session (so two admins
   saving at once both end up in the files: the last writer renders both changes), stages
   every changed file beside its target (``*.staged``), then renames them into place, and
   reloads only the Asterisk modules whose files changed (PJSIP for phones and trunks,
   the dialplan for DIDs). A file lock serialises writers of one runtime folder (panel
   workers, the CLI's ``asterisk render`` uses :mod:`controlplane.stack` and the same
   :func:`dialplan.render.write_config` rename).

Renames are atomic per file; Asterisk reads them only on the reload that follows the last
rename, so it never sees half a change. Asterisk down or AMI refusing: the files are in
place (Asterisk reads them when it starts) and :class:`Applied` says what failed, which the
panel shows beside "saved".

This is the same synchronous AMI path the SIP ban pages use (:mod:`controlplane.engine.ami_sync`,
one short socket, no daemon state): the panel needs no daemon to apply configuration.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from controlplane.admin.exceptions import ConfigRefused
from controlplane.config import Settings
from controlplane.engine import ami_sync
from dialplan.problems import ConfigError
from dialplan.render import render_platform

log = logging.getLogger(__name__)

# Which module re-reads which file; any other changed file reloads the lot (ami_sync.reload).
MODULE_OF = {
    "pjsip.conf": "res_pjsip.so",
    "pjsip_bans.conf": "res_pjsip.so",
    "sorcery.conf": "res_pjsip.so",
    "extensions.conf": "pbx_config.so",
}
LOCK_NAME = ".centrala-apply.lock"


@dataclass(frozen=True)
class Applied:
    """What :func:`apply` did: files ``changed``, ``reloaded`` modules, the ``error`` if
    Asterisk could not be told (the files are in place all the same)."""

    changed: tuple[str, ...] = ()
    reloaded: tuple[str, ...] = ()
    error: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.error

    def to_json(self) -> dict[str, object]:
        return {"changed": list(self.changed), "reloaded": list(self.reloaded),
                "ok": self.ok, "error": self.error or None}


def etc_dir(settings: Settings) -> Path:
    """The platform Asterisk's configuration folder (``controlplane.asterisk.Instance``)."""
    return settings.runtime_dir / "platform" / "etc"


def check(session: Session, settings: Settings) -> dict[str, str]:
    """Render from ``session`` as it is now (flush first); ConfigRefused on any problem."""
    session.flush()
    try:
        return render_platform(session, settings)
    except ConfigError as err:
        raise ConfigRefused(err.problems) from err


@contextlib.contextmanager
def _locked(etc: Path) -> Iterator[None]:
    etc.mkdir(parents=True, exist_ok=True)
    with open(etc / LOCK_NAME, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def swap_in(etc: Path, files: dict[str, str]) -> list[str]:
    """Stage every changed file, then rename them all into place; the changed names.

    A write that fails while staging (disk full) removes what was staged and raises:
    the running files are untouched. New files take the owner of ``pjsip.conf`` (the
    chroot's asterisk user must read them), mode 0640 like every rendered file."""
    reference = etc / "pjsip.conf"
    owner = (reference.stat().st_uid, reference.stat().st_gid) if reference.exists() else None
    staged: list[tuple[Path, Path]] = []
    try:
        for name, text in sorted(files.items()):
            path = etc / name
            if path.exists() and path.read_text() == text:
                continue
            tmp = path.with_name(path.name + ".staged")
            tmp.write_text(text)
            os.chmod(tmp, 0o640)
            st = path.stat() if path.exists() else None
            ids = (st.st_uid, st.st_gid) if st is not None else owner
            if ids is not None and os.geteuid() == 0:
                os.chown(tmp, *ids)
            staged.append((tmp, path))
    except OSError:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, path in staged:
        tmp.replace(path)
    return [path.name for _, path in staged]


def reload_modules(settings: Settings, changed: list[str]) -> list[str]:
    """Reload what re-reads ``changed`` over AMI; the modules reloaded."""
    modules = sorted({MODULE_OF.get(name, "*") for name in changed})
    if "*" in modules:
        ami_sync.reload(settings.bind_address, settings.platform.ami, settings.ami_user,
                        settings.ami_password)
        return ["all"]
    _, replies = ami_sync.actions(settings.bind_address, settings.platform.ami,
                                  settings.ami_user, settings.ami_password,
                                  [{"Action": "Reload", "Module": m} for m in modules])
    failed = [r.get("Message", "") for r in replies if r.get("Response") != "Success"]
    if failed:
        raise ami_sync.AmiError(f"Asterisk refused the reload: {'; '.join(failed)}")
    return modules


def apply(settings: Settings, sessions: sessionmaker[Session]) -> Applied:
    """Render the committed configuration, swap the changed files in and reload them."""
    etc = etc_dir(settings)
    with _locked(etc):
        with sessions() as session:
            try:
                files = render_platform(session, settings)
            except ConfigError as err:  # committed by someone else in between: say so
                return Applied(error=str(err), problems=[str(p) for p in err.problems])
        try:
            changed = swap_in(etc, files)
        except OSError as err:
            log.warning("configuration not written to %s: %s", etc, err)
            return Applied(error=f"configuration not written: {err}")
        if not changed:
            return Applied()
        try:
            reloaded = reload_modules(settings, changed)
        except (OSError, ami_sync.AmiError) as err:
            log.warning("configuration written (%s) but Asterisk not reloaded: %s",
                        ", ".join(changed), err)
            return Applied(tuple(changed), (), f"Asterisk was not reloaded ({err}); it reads "
                           "the new configuration when it starts")
    log.info("configuration applied: %s (reloaded %s)", ", ".join(changed), ", ".join(reloaded))
    return Applied(tuple(changed), tuple(reloaded))
