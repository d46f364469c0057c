"""The HTTP seam: one request with timeouts, retries and redaction, on top of ``requests``.

Design notes
------------
* Retries: 429, 5xx, connection errors and timeouts are retried up to
  ``retries.max_attempts`` with exponential backoff and "equal jitter" (half fixed, half random),
  so a flock of clients does not retry in lock step but a delay never collapses to zero. A server's
  ``Retry-After`` (seconds or an HTTP date) replaces the backoff, capped at ``max_retry_after``.
* A request that is not idempotent (a REST POST/PATCH, a GraphQL mutation) may already have been
  processed when a timeout or a 500 comes back; retrying it could create a record twice, which is
  exactly what a share must never do. Such requests are retried only when the server surely did not
  act on them: 429, 503, or a connection that was never established.
* Any other 4xx is the system refusing *this* request; retrying cannot help. It raises
  :class:`RejectedError` (404: :class:`NotFoundError`) carrying the status and the parsed body, so
  a share sink can dead-letter the entity and go on. 401/403 are the exception: bad credentials
  refuse every request alike, so they raise :class:`AuthenticationError`, which is not a rejection.
* Redaction: every error text and stored body passes through :meth:`HttpClient.redact`, which
  replaces each secret value of the system (and the Basic-auth token derived from them) with
  ``***``. URLs in messages show the path and query, with credential-like parameters masked.
* ``sleep``, ``clock`` and ``rng`` are injected so tests assert the exact delays without waiting.
* Redirects are not followed (a redirect is an error): custom credential headers would go
  wherever the ``Location`` points.
* The session ignores the process environment (``trust_env = False``): no proxy variables and no
  ``.netrc`` credentials sneak into requests; engine code never reads the environment.
"""

from __future__ import annotations

import base64
import email.utils
import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import requests
import urllib3.exceptions

from engine.config.systems import Secret, SystemConfig
from engine.errors import ConnectorError

__all__ = [
    "AuthenticationError",
    "HttpClient",
    "HttpError",
    "HttpResponse",
    "NotFoundError",
    "RejectedError",
]

E = TypeVar("E", bound="HttpError")
_SENSITIVE_PARAMS = ("key", "token", "secret", "password", "passwd", "auth", "signature", "sig")
_EXCERPT = 300


class HttpError(ConnectorError):
    """A request that failed for good: after the last retry, or refused by the system.

    Attributes: ``system``, ``operation``, ``method``, ``url`` (redacted path and query),
    ``status`` (``None`` when no response came back), ``body`` (parsed, redacted), ``attempts``.
    """

    def __init__(
        self,
        message: str,
        *,
        system: str,
        operation: str,
        method: str,
        url: str,
        status: int | None = None,
        body: Any = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message)
        self.system, self.operation, self.method, self.url = system, operation, method, url
        self.status, self.body, self.attempts = status, body, attempts


class RejectedError(HttpError):
    """The system refused the request (4xx other than 429, or a GraphQL ``didSucceed: false``).

    Not retried. ``input_errors`` lists field-level complaints when the system gives them.
    """

    def __init__(
        self, message: str, *, input_errors: list[Any] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.input_errors = input_errors or []


class NotFoundError(RejectedError):
    """HTTP 404: the record (or the route) does not exist."""


class AuthenticationError(HttpError):
    """HTTP 401/403: the credentials are wrong for *every* request, so this is not a rejection of
    one record (not a :class:`RejectedError`): a share must stop rather than dead-letter them all."""


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A successful response: status, headers (case-insensitive), parsed body and Link rels."""

    status: int
    headers: Mapping[str, str]
    body: Any  # parsed JSON, else the text, else None for an empty body
    url: str
    links: Mapping[str, str]  # rel -> absolute URL, from the Link header


class HttpClient:
    """Sends requests to one system, retrying what is safe to retry and redacting credentials."""

    def __init__(
        self,
        system: SystemConfig,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.system = system
        self._session = session or requests.Session()
        self._session.trust_env = False
        self._sleep, self._clock, self._rng = sleep, clock, rng
        secrets = list(system.secret_values())
        if system.authentication == "basic":
            user, password = _reveal(system.username), _reveal(system.password)
            pair = f"{user}:{password}".encode()
            if isinstance(system.username, Secret) or isinstance(system.password, Secret):
                secrets.append(base64.b64encode(pair).decode("ascii"))
        self._secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))
        base = urlsplit(system.url_pattern.replace("%s", ""))
        self._origin = (base.scheme, base.netloc)

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url_for(self, path: str) -> str:
        """The absolute URL of an operation's rendered (already quoted) relative url."""
        return self.system.url_pattern.replace("%s", path.lstrip("/"), 1)

    def redact(self, text: str) -> str:
        """Replace every secret value of this system inside ``text`` with ``***``."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def request(
        self,
        method: str,
        url: str,
        *,
        operation: str,
        params: Mapping[str, str | Secret] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str | Secret] | None = None,
        idempotent: bool = True,
    ) -> HttpResponse:
        """Send one logical request, retrying transient failures.

        Raises:
            RejectedError: a 4xx other than 401/403/429 (not retried).
            AuthenticationError: 401/403 (not retried).
            HttpError: the last attempt failed (status, timeout or connection error), or a
                redirect (never followed: it could carry credentials elsewhere).
        """
        split = urlsplit(url)
        if (split.scheme, split.netloc) != self._origin:
            raise ConnectorError(
                f"system {self.system.id!r}, operation {operation!r}: refusing "
                f"to send credentials to {split.scheme}://{split.netloc}, which "
                f"is not the system's base URL"
            )
        shown = self._display_url(url, params or {})
        wire_params = {k: _reveal(v) for k, v in (params or {}).items()}
        wire_headers = self._auth_headers()
        wire_headers.update({k: _reveal(v) for k, v in self.system.headers.items()})
        wire_headers.update({k: _reveal(v) for k, v in (headers or {}).items()})
        data: bytes | None = None
        if json_body is not None:
            try:
                data = json.dumps(json_body, ensure_ascii=False, allow_nan=False).encode()
            except (TypeError, ValueError) as e:
                # Typed entity values (Decimal, datetime) must be made plain JSON by the caller.
                raise self.error(
                    HttpError,
                    f"{method} {shown}: the request body is not plain JSON: {e}",
                    operation=operation,
                    method=method,
                    url=shown,
                ) from e
            wire_headers.setdefault("Content-Type", "application/json")
        auth = None
        if self.system.authentication == "basic":
            auth = (_reveal(self.system.username), _reveal(self.system.password))
        retries = self.system.retries
        attempt = 0
        while True:
            attempt += 1
            retry_after: float | None = None
            try:
                response = self._session.request(
                    method,
                    url,
                    params=wire_params,
                    data=data,
                    headers=wire_headers,
                    auth=auth,
                    timeout=self.system.timeout,
                    verify=self.system.verify_ssl,
                    allow_redirects=False,
                )
            except requests.Timeout as e:
                last = f"timed out after {self.system.timeout:g}s"
                status, body = None, None
                retryable = idempotent or isinstance(e, requests.ConnectTimeout)
            except requests.ConnectionError as e:
                last = "connection failed"
                status, body = None, None
                retryable = idempotent or _never_connected(e)
            except requests.RequestException as e:
                raise self.error(
                    HttpError,
                    f"{method} {shown} failed: {type(e).__name__}",
                    operation=operation,
                    method=method,
                    url=shown,
                    attempts=attempt,
                ) from e
            else:
                status, body = response.status_code, _parse_body(response)
                if status < 300:
                    return HttpResponse(
                        status, response.headers, body, response.url, _links(response)
                    )
                if status < 400:
                    # Redirects would carry custom credential headers to wherever they point.
                    target = self._display_url(response.headers.get("Location", ""), {})
                    raise self.error(
                        HttpError,
                        f"{method} {shown} answered HTTP {status} redirecting to {target!r}; "
                        "redirects are not followed, fix the system's base URL",
                        operation=operation,
                        method=method,
                        url=shown,
                        status=status,
                        attempts=attempt,
                    )
                last = f"HTTP {status}: {_excerpt(body)}"
                if status != 429 and status < 500:
                    cls: type[HttpError] = RejectedError
                    if status in (401, 403):
                        cls = AuthenticationError
                    elif status == 404:
                        cls = NotFoundError
                    raise self.error(
                        cls,
                        f"{method} {shown} was rejected with {last}",
                        operation=operation,
                        method=method,
                        url=shown,
                        status=status,
                        body=body,
                        attempts=attempt,
                    )
                retryable = idempotent or status in (429, 503)
                retry_after = self._retry_after(response.headers.get("Retry-After"))
            if not retryable or attempt >= retries.max_attempts:
                tries = f"{attempt} attempt{'s' if attempt > 1 else ''}"
                raise self.error(
                    HttpError,
                    f"{method} {shown} failed after {tries}: {last}",
                    operation=operation,
                    method=method,
                    url=shown,
                    status=status,
                    body=body,
                    attempts=attempt,
                )
            self._sleep(retry_after if retry_after is not None else self._backoff(attempt))

    # ------------------------------------------------------------------ helpers

    def _auth_headers(self) -> dict[str, str]:
        if self.system.authentication == "bearer":
            return {"Authorization": f"Bearer {_reveal(self.system.token)}"}
        return {}

    def _backoff(self, attempt: int) -> float:
        retries = self.system.retries
        base = min(retries.max_backoff, retries.backoff * 2 ** (attempt - 1))
        return base / 2 + self._rng() * base / 2

    def _retry_after(self, value: str | None) -> float | None:
        if not value:
            return None
        try:
            seconds = float(value)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return None  # unparseable: fall back to our own backoff
            seconds = when.timestamp() - self._clock()
        return min(max(seconds, 0.0), self.system.retries.max_retry_after)

    def _display_url(self, url: str, params: Mapping[str, str | Secret]) -> str:
        split = urlsplit(url)
        pairs: list[tuple[str, str]] = parse_qsl(split.query, keep_blank_values=True)
        for key, value in params.items():
            pairs.append((key, "***" if isinstance(value, Secret) else value))
        masked = [
            (k, "***" if any(s in k.lower() for s in _SENSITIVE_PARAMS) else v) for k, v in pairs
        ]
        query = urlencode(masked, safe="*,:")
        return self.redact(split.path + (f"?{query}" if query else ""))

    def error(
        self,
        cls: type[E],
        detail: str,
        *,
        operation: str,
        method: str,
        url: str,
        status: int | None = None,
        body: Any = None,
        attempts: int = 1,
        **extra: Any,
    ) -> E:
        """Build an error of ``cls`` naming this system and ``operation``, fully redacted."""
        message = self.redact(f"system {self.system.id!r}, operation {operation!r}: {detail}")
        extra = {k: self.redact_json(v) for k, v in extra.items()}
        return cls(
            message,
            system=self.system.id,
            operation=operation,
            method=method,
            url=url,
            status=status,
            body=self.redact_json(body),
            attempts=attempts,
            **extra,
        )

    def display_url(self, url: str, params: Mapping[str, str | Secret] | None = None) -> str:
        """The path and query of ``url`` as shown in messages: secrets and credentials masked."""
        return self._display_url(url, params or {})

    def redact_json(self, value: Any) -> Any:
        """A copy of a parsed JSON value with every secret value inside strings masked."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {self.redact(str(k)): self.redact_json(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.redact_json(v) for v in value]
        return value


def _reveal(value: str | Secret | None) -> str:
    if value is None:
        return ""
    return value.reveal() if isinstance(value, Secret) else value


def _never_connected(error: requests.ConnectionError) -> bool:
    """True when the TCP connection was never made, so the server cannot have seen the request."""
    reason = error.args[0] if error.args else None
    if isinstance(reason, urllib3.exceptions.MaxRetryError):
        reason = reason.reason
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


def _parse_body(response: requests.Response) -> Any:
    if not response.content.strip():
        return None
    try:
        # .json() detects UTF-8/16/32 from the bytes; .text would guess a charset, slowly.
        return response.json()
    except ValueError:
        return response.text


def _links(response: requests.Response) -> dict[str, str]:
    # Link targets may be relative; resolve them against the URL that answered.
    return {
        rel: urljoin(response.url, link["url"])
        for rel, link in response.links.items()
        if "url" in link
    }


def _excerpt(body: Any) -> str:
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, default=str)
    return text if len(text) <= _EXCERPT else text[: _EXCERPT - 3] + "..."
