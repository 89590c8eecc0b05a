"""Local stand-ins for the outside services of the network notifiers, for conformance runs.

``webhook`` and ``email`` declare ``needs_network``; the kit checks them
against these sinks: an HTTP server answering 200 to every POST and an
aiosmtpd server accepting every message. Each starts once per process, on
first use, in a daemon thread, bound to 127.0.0.1 only.
"""

from __future__ import annotations

import socket
import threading
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Accept(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server API
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass


@lru_cache(maxsize=1)
def webhook_url() -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Accept)
    threading.Thread(target=server.serve_forever, daemon=True, name="kit-webhook-sink").start()
    return f"http://127.0.0.1:{server.server_address[1]}/hook"


class _Swallow:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd API
        return "250 OK"


@lru_cache(maxsize=1)
def smtp_port() -> int:
    from aiosmtpd.controller import Controller

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    Controller(_Swallow(), hostname="127.0.0.1", port=port).start()
    return port
