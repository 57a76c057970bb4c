"""A webhook receiver on 127.0.0.1 for the alerts tests: a tiny http.server in a thread that records
every POST and answers each with the status a test chooses."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Receiver:
    url: str
    # (path, parsed JSON body, headers, status answered), in arrival order
    posts: list[tuple[str, Any, dict[str, str], int]] = field(default_factory=list)

    def delivered(self) -> list[Any]:
        """Bodies the receiver accepted (answered 2xx)."""
        return [body for _, body, _, status in self.posts if status < 300]


@contextlib.contextmanager
def webhook_receiver(answer: Callable[[str, Any, int], tuple[int, dict[str, str]]]) -> Iterator[Receiver]:
    """`answer(path, body, n)` gives the status and headers for the n-th post (from 0) carrying
    that body; n counts earlier posts of the same body, so "fail the first attempt" is `n == 0`."""
    lock = threading.Lock()
    receiver = Receiver("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"null")
            with lock:
                n = sum(1 for _, b, _, _ in receiver.posts if b == body)
                status, headers = answer(self.path, body, n)
                receiver.posts.append((self.path, body, dict(self.headers), status))
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
