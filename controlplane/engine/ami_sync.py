"""A tiny blocking AMI client for one-shot actions from the CLI and the panel.

The control plane daemon uses panoramisk (``controlplane.engine.ami``); this is
for short-lived callers that must not run an event loop: health checks and
applying rendered configuration.
"""

from __future__ import annotations

import socket

TIMEOUT_S = 5.0


class AmiError(RuntimeError):
    pass


def _read_message(f) -> dict[str, str]:  # type: ignore[no-untyped-def]
    msg: dict[str, str] = {}
    while True:
        line = f.readline()
        if not line:
            raise AmiError("AMI connection closed")
        line = line.decode(errors="replace").rstrip("\r\n")
        if not line:
            if msg:
                return msg
            continue
        key, _, value = line.partition(":")
        msg.setdefault(key.strip(), value.strip())


def actions(host: str, port: int, user: str, password: str,
            todo: list[dict[str, str]], timeout: float = TIMEOUT_S) -> tuple[str, list[dict[str, str]]]:
    """Log in, run each action and return (banner, responses)."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        f = sock.makefile("rwb")
        banner = f.readline().decode().strip()
        replies = []
        for i, action in enumerate([{"Action": "Login", "Username": user, "Secret": password,
                                     "Events": "off"}, *todo]):
            action = {**action, "ActionID": f"c{i}"}
            f.write("".join(f"{k}: {v}\r\n" for k, v in action.items()).encode() + b"\r\n")
            f.flush()
            while True:
                msg = _read_message(f)
                if msg.get("ActionID") == f"c{i}" and "Response" in msg:
                    break
            if i == 0:
                if msg.get("Response") != "Success":
                    raise AmiError(f"AMI login failed: {msg.get('Message', msg)}")
                continue
            replies.append(msg)
        f.write(b"Action: Logoff\r\n\r\n")
        f.flush()
        return banner, replies


def ping(host: str, port: int, user: str, password: str) -> str:
    banner, replies = actions(host, port, user, password, [{"Action": "Ping"}])
    if replies[0].get("Response") != "Success":
        raise AmiError(f"AMI Ping failed: {replies[0]}")
    return banner


def reload(host: str, port: int, user: str, password: str) -> None:
    """Apply rendered configuration: reload PJSIP, dialplan, HTTP/ARI, RTP and MOH."""
    todo = [{"Action": "Reload", "Module": m} for m in
            ("res_pjsip.so", "pbx_config.so", "res_ari.so", "res_rtp_asterisk.so",
             "res_musiconhold.so", "manager")]
    _, replies = actions(host, port, user, password, todo)
    failed = [r for r in replies if r.get("Response") != "Success"]
    if failed:
        raise AmiError(f"AMI reload failed: {failed}")
