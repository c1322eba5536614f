"""A real SMTP catcher for tests (:mod:`controlplane.mail.catcher` on a free port).

Import the fixture into a test module (``from mailcatcher import catcher``); it yields a
:class:`Catcher` with the SMTP URL to give ``CENTRALA_SMTP_URL`` and the mail it kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import free_port, until

from controlplane.mail import catcher as catcher_mod
from controlplane.mail import mailbox


@dataclass(frozen=True)
class Catcher:
    folder: Path
    port: int

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def mails_to(self, address: str) -> list[mailbox.Mail]:
        return mailbox.to_address(self.folder, address)

    def wait_for(self, address: str, count: int = 1, timeout: float = 15.0) -> mailbox.Mail:
        """The newest mail to ``address`` once there are ``count`` of them."""
        until(lambda: len(self.mails_to(address)) >= count, timeout=timeout)
        return self.mails_to(address)[0]


def link_in(text: str, path: str) -> str:
    """The secret of the first link to ``path`` (``/activate/``) in a mail's text."""
    found = re.search(re.escape(path) + r"([A-Za-z0-9_-]+)", text)
    assert found, text
    return found.group(1)


@pytest.fixture
def catcher(tmp_path: Path) -> Iterator[Catcher]:
    port = free_port()
    ctl = catcher_mod.controller(tmp_path / "mail", port)
    ctl.start()
    try:
        yield Catcher(tmp_path / "mail", port)
    finally:
        ctl.stop()
