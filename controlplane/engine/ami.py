"""The control plane's AMI connection (panoramisk), watched for half-open connections.

panoramisk re-logs in after an Asterisk restart but its keepalive never checks
the reply, so every action here is wrapped in ``asyncio.wait_for`` and a
watchdog pings on a schedule: a ping that times out means a half-open
connection, which is closed and re-opened.

PJSIP contact status events feed ``centrala:contacts`` in Redis
(endpoint → status), the live view of which phones can be rung. Events only say what
*changed*: a phone that registered while the control plane was down (or restarting), or
a contact that expired meanwhile, would never be reported. So on every (re)connection
:meth:`AmiClient.resync_contacts` asks Asterisk for its contacts
(``PJSIPShowContacts``), feeds each to the same consumers as an event, and drops the
hash entries of AORs Asterisk no longer has a contact for; the watchdog does the same when
Redis lost the hash (restarted empty). Other parts
:meth:`AmiClient.subscribe` to more events (the SIP ban watcher: the
``security`` class) before :meth:`AmiClient.run`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import redis.asyncio as aioredis
from panoramisk import Manager

from controlplane.bus import CONTACTS_KEY

log = logging.getLogger(__name__)
ACTION_TIMEOUT_S = 5.0
PING_EVERY_S = 10.0
# Contact states that mean "can be rung" (several contacts of one AOR: any of them wins).
REACHABLE = frozenset({"Reachable", "Created", "NonQualified", "Updated"})


class AmiError(RuntimeError):
    pass


def _guarded(handler: Callable[[Any], None]) -> Callable[[Manager, Any], None]:
    def call(_manager: Manager, message: Any) -> None:
        try:
            handler(message)
        except Exception:  # noqa: BLE001 - a bad consumer must not kill the AMI reader
            log.exception("AMI event consumer failed")
    return call


class AmiClient:
    def __init__(self, host: str, port: int, user: str, password: str,
                 redis: aioredis.Redis | None = None,
                 on_contact: Callable[[str, str, str], Awaitable[None]] | None = None) -> None:
        self._params = {"host": host, "port": port, "username": user, "secret": password}
        self.redis = redis
        self.on_contact = on_contact
        self.manager: Manager | None = None
        self.healthy = asyncio.Event()
        self._classes = ["system"]
        self._subscribers: list[tuple[str, Callable[[Any], None]]] = []
        # AOR → contact URI → status: the hash says an AOR is reachable while any contact
        # is. A browser webphone registers a new contact on every page load and the old
        # one's "Removed" can arrive after the new one's "Created": last-event-wins would
        # show a registered phone as gone.
        self._contacts: dict[str, dict[str, str]] = {}

    def subscribe(self, names: Iterable[str], handler: Callable[[Any], None],
                  event_class: str) -> None:
        """Deliver the AMI events ``names`` (of ``event_class``) to ``handler`` (call before
        :meth:`run`). The handler is called on the reader, in order: it must not block."""
        if event_class not in self._classes:
            self._classes.append(event_class)
        self._subscribers += [(name, handler) for name in names]

    def _new_manager(self) -> Manager:
        # Only the "system" class (contact status, reloads) and what subscribers asked for:
        # call events come over ARI, and parsing every AMI call event would cost CPU per call.
        manager = Manager(**self._params, ping_delay=PING_EVERY_S, reconnect_timeout=2,
                          forgetable_actions=("ping", "login"), events=",".join(self._classes))
        manager.register_event("ContactStatus", self._on_contact)
        for name, handler in self._subscribers:
            manager.register_event(name, _guarded(handler))
        return manager

    async def _on_contact(self, _manager: Manager, message: Any) -> None:
        aor = message.get("AOR") or message.get("EndpointName") or ""
        if aor:
            await self._contact(aor, message.get("ContactStatus", ""), message.get("URI", ""))

    async def _contact(self, aor: str, status: str, uri: str) -> None:
        """One contact's status to the consumer (the ACD) and the Redis hash."""
        if self.on_contact is not None:
            try:
                await self.on_contact(aor, status, uri)
            except Exception:  # noqa: BLE001 - a bad consumer must not kill the AMI reader
                log.exception("contact status consumer failed")
        contacts = self._contacts.setdefault(aor, {})
        if status == "Removed":
            contacts.pop(uri, None)
        else:
            contacts[uri] = status
        others = [s for s in contacts.values() if s in REACHABLE] or list(contacts.values())
        if self.redis is not None:
            try:
                await self.redis.hset(CONTACTS_KEY, aor, others[0] if others else status)
            except aioredis.RedisError as err:
                log.warning("redis contact update failed: %s", err)

    async def resync_contacts(self) -> int:
        """Asterisk's current contacts replace what we knew (see the module docstring);
        returns how many contacts Asterisk listed."""
        reply = await self.action({"Action": "PJSIPShowContacts"})
        messages = reply if isinstance(reply, list) else [reply]
        self._contacts = {}  # Asterisk's list replaces what the events told
        now: dict[str, str] = {}
        for m in messages:
            if m.get("Event") != "ContactList":
                continue
            # ObjectName is "<aor>;@<hash>"; Asterisk 22 also gives Aor and Endpoint.
            aor = m.get("Aor") or str(m.get("ObjectName", "")).split(";@", 1)[0] \
                or m.get("Endpoint") or ""
            status = m.get("Status", "")
            if not aor or not status:
                continue
            await self._contact(aor, status, m.get("Uri", ""))
            if status in REACHABLE or aor not in now:
                now[aor] = status
        if self.redis is not None:
            try:
                for aor, status in now.items():  # per AOR: reachable when any contact is
                    await self.redis.hset(CONTACTS_KEY, aor, status)
                known = await self.redis.hkeys(CONTACTS_KEY)
                gone = [k for k in known
                        if (k.decode() if isinstance(k, bytes) else str(k)) not in now]
                if gone:
                    await self.redis.hdel(CONTACTS_KEY, *gone)
            except aioredis.RedisError as err:
                log.warning("redis contact resync failed: %s", err)
        listed = sum(1 for m in messages if m.get("Event") == "ContactList")
        log.info("AMI contacts re-read: %d contact(s) of %d AOR(s)", listed, len(now))
        return listed

    async def restore_lost_contacts(self) -> bool:
        """Re-read the contacts when Redis lost the hash (restarted empty) while we know of
        some: otherwise every phone would read "unregistered" until its next REGISTER,
        minutes away. Called by the watchdog after each ping; True when it re-read."""
        if self.redis is None or not self._contacts:
            return False
        try:
            if await self.redis.exists(CONTACTS_KEY):
                return False
        except aioredis.RedisError:
            return False  # Redis down: the next ping tries again
        log.warning("AMI contacts: Redis lost them; re-reading Asterisk's")
        try:
            await self.resync_contacts()
        except AmiError as err:
            log.warning("AMI contacts not re-read: %s", err)
            return False
        return True

    async def action(self, action: dict[str, str], timeout: float = ACTION_TIMEOUT_S) -> Any:
        if self.manager is None:
            raise AmiError("AMI not connected")
        try:
            return await asyncio.wait_for(self.manager.send_action(action), timeout)
        except TimeoutError as err:
            raise AmiError(f"AMI {action.get('Action')} timed out after {timeout} s") from err

    async def run(self) -> None:
        """Connect, then watch: a ping without reply within the timeout reconnects."""
        while True:
            self.manager = self._new_manager()
            try:
                await asyncio.wait_for(self.manager.connect(), ACTION_TIMEOUT_S)
                self.healthy.set()
                log.info("AMI connected")
                try:  # what changed while nobody listened (a failure only costs freshness)
                    await self.resync_contacts()
                except (AmiError, OSError) as err:
                    log.warning("AMI contacts not re-read: %s", err)
                while True:
                    await asyncio.sleep(PING_EVERY_S)
                    reply = await self.action({"Action": "Ping"})
                    if not reply or reply.get("Response") != "Success":
                        raise AmiError(f"bad ping reply {reply!r}")
                    await self.restore_lost_contacts()
            except asyncio.CancelledError:
                self.manager.close()
                raise
            except (OSError, AmiError, TimeoutError) as err:
                log.warning("AMI connection lost or half-open (%s); reconnecting", err)
            self.healthy.clear()
            self.manager.close()
            await asyncio.sleep(1)
