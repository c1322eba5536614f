"""An HTTP CONNECT proxy for the browser whose network a test can cut.

Chromium started with ``--proxy-server=http://127.0.0.1:<port>`` sends its WebSocket (and
any other proxied) connections through :class:`CutProxy` as CONNECT tunnels. :meth:`cut`
plays a network outage: every open tunnel is closed at once and new CONNECTs are refused
until :meth:`restore`. WebRTC's media is UDP and does not pass through it.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading


class CutProxy:
    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        self._down = threading.Event()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self.tunnels = 0  # tunnels opened so far
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 8192:
            chunk = client.recv(4096)
            if not chunk:
                client.close()
                return
            head += chunk
        parts = head.split(b"\r\n", 1)[0].split()
        if self._down.is_set() or len(parts) < 2 or parts[0] != b"CONNECT":
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            client.close()
            return
        host, _, port = parts[1].decode().rpartition(":")
        try:
            upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=5)
        except OSError:
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            client.close()
            return
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        with self._lock:
            self._open |= {client, upstream}
            self.tunnels += 1
        self._pump(client, upstream)

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        pair = {a: b, b: a}
        try:
            while True:
                ready, _, _ = select.select(list(pair), [], [], 1.0)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    pair[s].sendall(data)
        except OSError:
            return
        finally:
            with self._lock:
                self._open -= {a, b}
            for s in (a, b):
                s.close()

    def cut(self) -> None:
        """The network goes: open tunnels die, new ones are refused."""
        self._down.set()
        with self._lock:
            doomed = list(self._open)
        for s in doomed:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def restore(self) -> None:
        self._down.clear()

    def close(self) -> None:
        self.cut()
        self.server.close()
