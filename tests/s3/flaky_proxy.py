"""An HTTP proxy in front of the S3 server that answers some requests with 503 SlowDown, as
a busy S3 does, or stalls them, as a hung connection does: clients must time out, back off
and retry."""

from __future__ import annotations

import http.client
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

_SLOW_DOWN = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
              b"<Message>Please reduce your request rate.</Message></Error>")


class FlakyProxy:
    """Forwards to ``upstream`` (host, port); every ``every``-th request gets a 503 (0:
    none), every ``stall_every``-th GET waits ``stall`` seconds before it is answered, and so
    does every request for which ``stall_if(method, path)`` is true."""

    def __init__(self, upstream: tuple[str, int], every: int = 3, stall_every: int = 0,
                 stall: float = 0.0,
                 stall_if: Callable[[str, str], bool] | None = None) -> None:
        self.failed = 0
        self.forwarded = 0
        self.stalled = 0
        lock = threading.Lock()
        count = [0]
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with lock:
                    count[0] += 1
                    fail = bool(every) and count[0] % every == 0
                    hang = (bool(stall_every) and self.command == "GET"
                            and count[0] % stall_every == 0) or (
                        stall_if is not None and stall_if(self.command, self.path))
                    if fail:
                        proxy.failed += 1
                    else:
                        proxy.forwarded += 1
                    if hang:
                        proxy.stalled += 1
                if hang:
                    time.sleep(stall)
                if fail:
                    self.send_response(503)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(_SLOW_DOWN)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(_SLOW_DOWN)
                    return
                conn = http.client.HTTPConnection(*upstream, timeout=60)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("connection", "transfer-encoding")}
                conn.request(self.command, self.path, body=body, headers=headers)
                reply = conn.getresponse()
                data = reply.read()
                self.send_response(reply.status, reply.reason)
                head = self.command == "HEAD"  # keeps the object's Content-Length
                for k, v in reply.getheaders():
                    if k.lower() not in ("connection", "transfer-encoding") and (
                            head or k.lower() != "content-length"):
                        self.send_header(k, v)
                if not head:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    if not head:
                        self.wfile.write(data)
                except OSError:
                    pass  # the client gave up on a stalled request
                conn.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _relay

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
