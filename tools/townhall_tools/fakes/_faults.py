"""A loopback HTTP server that misbehaves the ways real upstreams do, for tests and benchmarks.

Not an API fake (the leading underscore keeps it out of the sandbox): a raw socket server, so it
can do what a well-behaved framework will not, such as dripping the status line.

    with FaultServer() as faults:
        faults.url + "/ok"            200 {"ok": true}
        faults.url + "/hang"          reads the request, never answers (until the client leaves)
        faults.url + "/drip"          200 headers, then the body one byte every DRIP seconds
        faults.url + "/drip-headers"  the status line and headers one byte every DRIP seconds
        faults.url + "/big"           200 with a body of BIG bytes and no Content-Length
        faults.url + "/fail"          500 {"error": "down"}
        faults.url + "/switch"        500 while ``faults.failing`` is true, else 200
        faults.url + "/late"          a POST: counted in ``faults.acted``, answered 201 after
                                      ``faults.late`` seconds

``faults.hits`` counts requests by path. Every wait is bounded (``LONGEST`` seconds at most) and
ends early when the client hangs up or the server stops.
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import time

DRIP = 0.3
BIG = 3 * 1024 * 1024
LONGEST = 10.0


class FaultServer:
    def __init__(self):
        self.hits: dict[str, int] = {}
        self.acted = 0
        self.failing = True
        self.late = 6.0
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                owner._handle(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FaultServer:
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def _read_request(self, sock: socket.socket) -> tuple[str, str, bytes]:
        sock.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 65536:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path = (lines[0].split(" ") + ["", ""])[:2]
        length = 0
        for line in lines[1:]:
            if line.lower().startswith("content-length:"):
                length = int(line.split(":", 1)[1].strip() or 0)
        while len(body) < length:
            chunk = sock.recv(4096)
            if not chunk:
                break
            body += chunk
        return method, path.split("?", 1)[0], body

    @staticmethod
    def _answer(status: int, body: bytes, reason: str = "OK", length: bool = True) -> bytes:
        head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nConnection: close\r\n"
        if length:
            head += f"Content-Length: {len(body)}\r\n"
        return head.encode() + b"\r\n" + body

    def _wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds`` (at most LONGEST); False when the server is stopping."""
        return not self.stopping.wait(min(seconds, LONGEST))

    def _drip(self, sock: socket.socket, data: bytes) -> None:
        started = time.monotonic()
        for i in range(len(data)):
            if time.monotonic() - started > LONGEST or not self._wait(DRIP):
                return
            try:
                sock.sendall(data[i : i + 1])
            except OSError:
                return  # the client hung up: what a bounded client does

    def _handle(self, sock: socket.socket) -> None:
        try:
            method, path, _ = self._read_request(sock)
        except (OSError, ValueError):
            return
        with self._lock:
            self.hits[path] = self.hits.get(path, 0) + 1
        ok = self._answer(200, b'{"ok": true}')
        try:
            if path == "/ok":
                sock.sendall(ok)
            elif path == "/hang":
                sock.settimeout(LONGEST)
                try:
                    sock.recv(1)  # returns when the client closes, or LONGEST passes
                except OSError:
                    pass
            elif path == "/drip":
                body = b'{"ok": true, "padding": "' + b"x" * 60 + b'"}'
                head = self._answer(200, body)
                sock.sendall(head[: len(head) - len(body)])
                self._drip(sock, body)
            elif path == "/drip-headers":
                self._drip(sock, ok)
            elif path == "/big":
                sock.sendall(self._answer(200, b"x" * BIG, length=False))
            elif path == "/fail":
                sock.sendall(self._answer(500, b'{"error": "down"}', "Internal Server Error"))
            elif path == "/switch":
                if self.failing:
                    sock.sendall(self._answer(500, b'{"error": "down"}', "Internal Server Error"))
                else:
                    sock.sendall(ok)
            elif path == "/late":
                with self._lock:
                    self.acted += 1
                    number = self.acted
                self._wait(self.late)
                sock.sendall(self._answer(201, json.dumps({"id": f"late-{number}"}).encode(), "Created"))
            else:
                sock.sendall(self._answer(404, b'{"error": "not found"}', "Not Found"))
        except OSError:
            pass
