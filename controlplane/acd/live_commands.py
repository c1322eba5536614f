"""The live ACD's agent commands: login, logout, ready, breaks, supervisor actions, and the
desk-phone feature codes that map onto them.

Pure (no I/O): runs inside one operation of :class:`~controlplane.acd.service.QueueService`
and collects its work in the operation's :class:`~controlplane.acd.live_state.Batch`.
"""

from __future__ import annotations

from controlplane.acd import agent_events as ev
from controlplane.acd import agent_machine as am
from controlplane.acd import sessions as ss
from controlplane.acd.feature_codes import BREAK, LOGIN, LOGOUT, READY, SOUNDS, FeatureCode
from controlplane.acd.live_chats import ChatSteps
from controlplane.acd.live_state import Batch, CommandResult, Registry, TenantLive
from controlplane.acd.live_steps import Steps

S = ev.Status
COMMANDS = ("login", "logout", "ready", "break", "cancel_break", "approve", "deny", "force")
_FEATURE_COMMAND = {LOGIN: "login", READY: "ready", BREAK: "break", LOGOUT: "logout"}


class AgentCommands:
    """What an agent (panel or desk phone) or a supervisor asks of an agent's state."""

    def __init__(self, registry: Registry, steps: Steps) -> None:
        self.registry = registry
        self.steps = steps

    def command(
        self,
        t: TenantLive,
        b: Batch,
        aid: str,
        command: str,
        reason: str | None,
        by: str | None,
        workstation: str | None,
        now: float,
    ) -> CommandResult:
        """Run one command (see ``QueueService.agent_command``), then route."""
        before = t.agents.get(aid) or am.AgentState(aid)
        first = len(b.refusals)
        code = ""
        agent = self.steps.agent
        if command == "login":
            code = self._login(t, b, aid, workstation, now)
        elif command == "logout":
            ChatSteps(self.steps).released(t, b, aid, now)  # chats back first: out at once
            agent(t, b, aid, ev.LoggedOut(by), now)
        elif command == "ready":
            agent(t, b, aid, ev.GoReady(), now)
        elif command == "break" and reason:
            on_break = sum(
                1
                for a in t.agents.values()
                if (a.status == S.BREAK and a.reason == reason)
                or (a.deferred is not None and a.deferred.reason == reason)
            )
            agent(t, b, aid, ev.RequestBreak(reason, on_break), now)
        elif command == "cancel_break":
            agent(t, b, aid, ev.CancelBreakRequest(), now)
        elif command in ("approve", "deny"):
            e = (
                ev.ApproveBreak(by or "supervisor")
                if command == "approve"
                else ev.DenyBreak(by or "supervisor")
            )
            agent(t, b, aid, e, now)
        elif command == "force" and reason:
            agent(t, b, aid, ev.ForceBreak(reason, by or "supervisor"), now)
        else:
            b.refusals.append(f"unknown command {command!r} (or a missing reason)")
            code = "unknown_command"
        refusals = b.refusals[first:]
        self.steps.route(t, b, now)
        after = t.agents.get(aid) or before
        if code == "already":
            return CommandResult(True, str(after.status), after.reason, code, "already logged in")
        if refusals:
            code = code or "refused"
            return CommandResult(False, str(after.status), after.reason, code, "; ".join(refusals))
        return CommandResult(True, str(after.status), after.reason)

    def _login(self, t: TenantLive, b: Batch, aid: str, workstation: str | None, now: float) -> str:
        phones = t.cfg.endpoints.get(aid, ())
        endpoint = workstation if workstation in phones else (phones[0] if phones else None)
        outs = self.steps.sessions(t, b, ss.Login(aid, workstation or endpoint or "panel"), now)
        for o in outs:
            if isinstance(o, ss.LoginRefused):
                b.refusals.append(o.message)
                return o.reason
        if endpoint is not None:
            t.endpoint[aid] = endpoint
            b.dirty.add((t.tid, aid))
        if t.logged_in(aid):
            return "already"
        self.steps.agent(t, b, aid, ev.LoggedIn(ready=True), now)
        if endpoint is not None and endpoint in self.registry.contacts:
            self.steps.agent(t, b, aid, ev.ContactStatus(self.registry.reach(endpoint)), now)
        return ""

    def feature_code(
        self, t: TenantLive, b: Batch, aid: str, fc: FeatureCode, phone: str, now: float
    ) -> str:
        """Apply a desk-phone feature code; returns the sound that confirms it."""
        r = self.command(t, b, aid, _FEATURE_COMMAND[fc.action], fc.reason, None, phone, now)
        if fc.action == LOGIN:
            if r.code in ("already", "logged_in_elsewhere"):
                return SOUNDS["already_on"]
            return SOUNDS["logged_in"] if r.ok else SOUNDS["unknown_phone"]
        if fc.action == LOGOUT and r.ok:
            return SOUNDS["logged_out"]
        return SOUNDS["ok"] if r.ok else SOUNDS["refused"]
