"""A tiny JSON-over-HTTP helper for the sandbox tests (stdlib only, real sockets)."""

from __future__ import annotations

import json
from typing import Any
from urllib.error import HTTPError
from urllib.request import Request, urlopen


def call(url: str, method: str = "GET", body: Any = None,
         headers: dict[str, str] | None = None, timeout: float = 5.0
         ) -> tuple[int, dict[str, str], Any]:
    """Send one request; answer ``(status, headers, parsed JSON body or None)``."""
    data = json.dumps(body).encode() if body is not None else None
    req = Request(url, data=data, method=method,
                  headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urlopen(req, timeout=timeout) as resp:
            text = resp.read()
            return resp.status, dict(resp.headers), json.loads(text) if text else None
    except HTTPError as e:
        text = e.read()
        return e.code, dict(e.headers), json.loads(text) if text else None
