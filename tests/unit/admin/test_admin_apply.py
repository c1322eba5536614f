"""The apply step of the admin room: files swapped in only whole, reloads chosen by file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from controlplane.admin import apply


def test_swap_in_writes_only_changed_files(tmp_path: Path) -> None:
    (tmp_path / "pjsip.conf").write_text("old")
    (tmp_path / "extensions.conf").write_text("same")
    changed = apply.swap_in(tmp_path, {"pjsip.conf": "new", "extensions.conf": "same",
                                       "rtp.conf": "fresh"})
    assert sorted(changed) == ["pjsip.conf", "rtp.conf"]
    assert (tmp_path / "pjsip.conf").read_text() == "new"
    assert (tmp_path / "rtp.conf").stat().st_mode & 0o777 == 0o640
    assert not list(tmp_path.glob("*.staged"))


def test_a_failed_staging_leaves_every_running_file_untouched(tmp_path: Path) -> None:
    (tmp_path / "a.conf").write_text("old a")
    (tmp_path / "b.conf").write_text("old b")
    (tmp_path / "b.conf.staged").mkdir()  # writing b's staged copy fails (a directory)
    with pytest.raises(OSError):
        apply.swap_in(tmp_path, {"a.conf": "new a", "b.conf": "new b"})
    assert (tmp_path / "a.conf").read_text() == "old a"  # staged first, never swapped
    assert (tmp_path / "b.conf").read_text() == "old b"
    assert not (tmp_path / "a.conf.staged").exists()


@pytest.mark.parametrize(("changed", "modules"), [
    (["pjsip.conf"], ["res_pjsip.so"]),
    (["pjsip.conf", "sorcery.conf", "extensions.conf"], ["pbx_config.so", "res_pjsip.so"]),
    (["http.conf"], ["all"]),
])
def test_only_the_modules_of_changed_files_reload(monkeypatch: pytest.MonkeyPatch, settings_stub: Any,
                                                  changed: list[str], modules: list[str]) -> None:
    sent: list[list[dict[str, str]]] = []
    monkeypatch.setattr(apply.ami_sync, "actions", lambda *a, **k: (
        sent.append(a[4]), ("banner", [{"Response": "Success"} for _ in a[4]]))[1])
    monkeypatch.setattr(apply.ami_sync, "reload", lambda *a, **k: sent.append([{"all": "1"}]))
    assert apply.reload_modules(settings_stub, changed) == modules
    assert sent


def test_a_refused_reload_is_an_error(monkeypatch: pytest.MonkeyPatch, settings_stub: Any) -> None:
    monkeypatch.setattr(apply.ami_sync, "actions", lambda *a, **k: (
        "banner", [{"Response": "Error", "Message": "no such module"}]))
    with pytest.raises(apply.ami_sync.AmiError, match="no such module"):
        apply.reload_modules(settings_stub, ["pjsip.conf"])


@pytest.fixture
def settings_stub() -> Any:
    class Ports:
        ami = 1

    class Stub:
        bind_address = "127.0.0.1"
        platform = Ports()
        ami_user = "u"
        ami_password = "p"

    return Stub()
