"""The executor: the only code that turns a command into an ARI request.

Every module of the control plane tells Asterisk what to do with a typed command
(:mod:`controlplane.engine.commands`) and learns what Asterisk holds with the read
queries below (recovery after a restart, AMD's polling, a recording's end). The ARI
resource each command becomes is written here once, in :data:`_REQUESTS`; a new command
adds a row. ``tests/unit/engine/test_engine_ari_boundary.py`` fails when a module outside
``controlplane/engine/`` makes an ARI request itself.

Failures stay :class:`~controlplane.engine.ari_.AriError` (with the HTTP status, 0 when
Asterisk is unreachable): what a failure *means* belongs to the caller (for a call, a 404
on a hang-up is "the leg is gone", see :mod:`controlplane.calls.failures`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from controlplane.engine import commands as c
from controlplane.engine.ari_ import AriError


class AriRest(Protocol):
    """What the executor needs of :class:`~controlplane.engine.ari_.AriClient` (and what a
    unit test's recording fake provides)."""

    app: str

    async def get(self, path: str, **params: Any) -> Any: ...

    async def post(self, path: str, json_body: Any = None, **params: Any) -> Any: ...

    async def delete(self, path: str, **params: Any) -> Any: ...


# (method, path, query parameters, JSON body) of one request; None parameters are not sent.
Request = tuple[str, str, dict[str, Any], Any]


def _originate(cmd: c.Originate, app: str) -> Request:
    variables: dict[str, str] = {f"PJSIP_HEADER(add,{k})": v for k, v in cmd.headers}
    variables.update(cmd.variables)
    return ("POST", "/channels",
            {"endpoint": cmd.endpoint, "app": cmd.app or app, "appArgs": cmd.app_args or None,
             "callerId": cmd.caller_id or None, "timeout": cmd.timeout_s,
             "channelId": cmd.channel_id},
            {"variables": variables} if variables else None)


def _record_channel(cmd: c.RecordChannel, app: str) -> Request:
    return ("POST", f"/channels/{cmd.channel_id}/record",
            {"name": cmd.name, "format": "wav", "beep": cmd.beep,
             "maxDurationSeconds": cmd.max_duration_s, "terminateOn": cmd.terminate_on,
             "ifExists": "overwrite"}, None)


def _external_media(cmd: c.ExternalMedia, app: str) -> Request:
    return ("POST", "/channels/externalMedia",
            {"app": cmd.app, "channelId": cmd.channel_id, "transport": cmd.transport,
             "encapsulation": cmd.encapsulation, "connection_type": cmd.connection_type,
             "format": cmd.format, "direction": cmd.direction}, None)


def _simple(method: str, path: str, **params: Any) -> Request:
    return method, path, params, None


# Command type → its request (``app``: the control plane's own Stasis app).
_REQUESTS: dict[type[c.Command], Callable[[Any, str], Request]] = {
    c.Answer: lambda cmd, app: _simple("POST", f"/channels/{cmd.channel_id}/answer"),
    c.Play: lambda cmd, app: _simple("POST", f"/channels/{cmd.channel_id}/play/{cmd.playback_id}",
                                     media=cmd.media),
    c.StopPlayback: lambda cmd, app: _simple("DELETE", f"/playbacks/{cmd.playback_id}"),
    c.StartRinging: lambda cmd, app: _simple("POST", f"/channels/{cmd.channel_id}/ring"),
    c.StopRinging: lambda cmd, app: _simple("DELETE", f"/channels/{cmd.channel_id}/ring"),
    c.StartMoh: lambda cmd, app: _simple("POST", f"/channels/{cmd.channel_id}/moh"),
    c.StopMoh: lambda cmd, app: _simple("DELETE", f"/channels/{cmd.channel_id}/moh"),
    c.CreateBridge: lambda cmd, app: _simple("POST", f"/bridges/{cmd.bridge_id}", type=cmd.type,
                                             name=cmd.name or cmd.bridge_id),
    c.AddToBridge: lambda cmd, app: _simple("POST", f"/bridges/{cmd.bridge_id}/addChannel",
                                            channel=",".join(cmd.channel_ids)),
    c.RecordBridge: lambda cmd, app: _simple("POST", f"/bridges/{cmd.bridge_id}/record",
                                             name=cmd.name, format="wav", ifExists="overwrite",
                                             beep=False),
    c.DestroyBridge: lambda cmd, app: _simple("DELETE", f"/bridges/{cmd.bridge_id}"),
    c.Hangup: lambda cmd, app: _simple("DELETE", f"/channels/{cmd.channel_id}",
                                       reason=cmd.reason),
    c.Originate: _originate,
    c.RecordChannel: _record_channel,
    c.StopLiveRecording: lambda cmd, app: _simple("POST", f"/recordings/live/{cmd.name}/stop"),
    c.SetChannelVar: lambda cmd, app: _simple("POST", f"/channels/{cmd.channel_id}/variable",
                                              variable=cmd.variable, value=cmd.value),
    c.Snoop: lambda cmd, app: _simple("POST", f"/channels/{cmd.channel_id}/snoop", spy=cmd.spy,
                                      app=cmd.app, snoopId=cmd.snoop_id,
                                      **({"whisper": cmd.whisper} if cmd.whisper else {})),
    c.RemoveFromBridge: lambda cmd, app: _simple("POST", f"/bridges/{cmd.bridge_id}/removeChannel",
                                                 channel=cmd.channel_id),
    c.Mute: lambda cmd, app: _simple("POST", f"/channels/{cmd.channel_id}/mute",
                                     direction=cmd.direction),
    c.Unmute: lambda cmd, app: _simple("DELETE", f"/channels/{cmd.channel_id}/mute",
                                       direction=cmd.direction),
    c.ExternalMedia: _external_media,
    c.ContinueInDialplan: lambda cmd, app: _simple(
        "POST", f"/channels/{cmd.channel_id}/continue", context=cmd.context,
        extension=cmd.extension, priority=cmd.priority),
}


def request_for(cmd: c.Command, app: str) -> Request:
    """The ARI request ``cmd`` becomes (pure; :class:`TypeError` for an unknown command)."""
    build = _REQUESTS.get(type(cmd))
    if build is None:
        raise TypeError(f"no ARI request for command {cmd!r}")
    return build(cmd, app)


class Executor:
    """Runs commands and read queries over one ARI connection."""

    def __init__(self, ari: AriRest) -> None:
        self._ari = ari

    @property
    def app(self) -> str:
        """The Stasis application the connection registered (the default originate target)."""
        return self._ari.app

    async def run(self, cmd: c.Command) -> Any:
        """Carry out ``cmd``; returns ARI's JSON answer (the new channel, say), if any.
        Raises :class:`AriError` when Asterisk refuses or cannot be reached."""
        # Only an originate names the app; a test's fake client may have none.
        app = self._ari.app if isinstance(cmd, c.Originate) and cmd.app is None else ""
        method, path, params, body = request_for(cmd, app)
        params = {k: v for k, v in params.items() if v is not None}
        if method == "POST":
            return await self._ari.post(path, body, **params)
        return await self._ari.delete(path, **params)

    # ---- read queries (recovery, AMD, recordings) ----
    async def channels(self) -> list[dict[str, Any]]:
        """Every channel Asterisk holds (ARI's channel JSON)."""
        return list(await self._ari.get("/channels") or [])

    async def bridges(self) -> list[dict[str, Any]]:
        return list(await self._ari.get("/bridges") or [])

    async def channel(self, channel_id: str) -> dict[str, Any] | None:
        """The channel's JSON, None when it does not exist."""
        return await self._one(f"/channels/{channel_id}")

    async def bridge(self, bridge_id: str) -> dict[str, Any] | None:
        """The bridge's JSON (``channels``: who is in it), None when it does not exist."""
        return await self._one(f"/bridges/{bridge_id}")

    async def _one(self, path: str) -> dict[str, Any] | None:
        try:
            found = await self._ari.get(path)
        except AriError as err:
            if err.status == 404:
                return None
            raise
        return dict(found or {})

    async def channel_exists(self, channel_id: str) -> bool:
        return await self.channel(channel_id) is not None

    async def playback_exists(self, playback_id: str) -> bool:
        return await self._exists(f"/playbacks/{playback_id}")

    async def live_recording_exists(self, name: str) -> bool:
        """True while Asterisk is still writing the recording ``name``."""
        return await self._exists(f"/recordings/live/{name}")

    async def channel_variable(self, channel_id: str, variable: str) -> str | None:
        """The variable's value; None when it is not set. A channel that does not exist
        raises :class:`AriError` 404 (ARI answers 404 for both; its message tells them apart)."""
        try:
            got = await self._ari.get(f"/channels/{channel_id}/variable", variable=variable)
        except AriError as err:
            if err.status == 404 and "variable was not found" in str(err):
                return None
            raise
        return str((got or {}).get("value") or "")

    async def _exists(self, path: str) -> bool:
        try:
            await self._ari.get(path)
        except AriError as err:
            if err.status == 404:
                return False
            raise
        return True


def executor_of(ari: AriRest | Executor) -> Executor:
    """``ari`` as an executor (composition roots and tests may hand over the bare client)."""
    return ari if isinstance(ari, Executor) else Executor(ari)
