"""REST test helpers: a local webhook receiver (``webhook_site``)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest


class WebhookSite:
    """Collects the JSON bodies POSTed to it; ``url`` ends in ``/hook``."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                site.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"

    def events(self, event_type: str) -> list[dict[str, Any]]:
        return [b["params"] for b in self.bodies if b.get("event_type") == event_type]


@pytest.fixture
def webhook_site() -> Iterator[WebhookSite]:
    site = WebhookSite()
    thread = threading.Thread(target=site.httpd.serve_forever, daemon=True)
    thread.start()
    yield site
    site.httpd.shutdown()
