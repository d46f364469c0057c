"""The HTTP seam against a real server: retries, backoff, Retry-After, rejection, redaction."""

from __future__ import annotations

import base64
import email.utils
import pickle
import socket
import string
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config.systems import load_system_config
from engine.connectors.http import (
    AuthenticationError,
    HttpClient,
    HttpError,
    NotFoundError,
    RejectedError,
)
from engine.errors import ConnectorError, JsonPath

from .factory import SECRET_KEY, Sleeps, make_system
from .scripted_server import Reply, ScriptedServer, Seen

OPS = {"list": {"url": "customers"}, "create": {"method": "POST", "url": "customers"}}
NOW = 1_700_000_000.0


def client(url: str, sleeps: Sleeps, **extra: object) -> HttpClient:
    return HttpClient(
        make_system(url, OPS, **extra), sleep=sleeps, clock=lambda: NOW, rng=lambda: 0.5
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_success_returns_parsed_json_and_headers(server: ScriptedServer) -> None:
    server.queue.append(Reply(200, [{"id": 1}], {"X-Total-Count": "1"}))
    sleeps = Sleeps()
    http = client(server.url, sleeps)
    response = http.request(
        "GET", http.url_for("customers"), operation="list", params={"page": "1"}
    )
    assert response.body == [{"id": 1}]
    assert response.headers["x-total-count"] == "1"
    assert server.seen[0].path == "/customers" and server.seen[0].param("page") == "1"
    assert sleeps.calls == []


def test_500s_are_retried_with_exponential_backoff(server: ScriptedServer) -> None:
    server.queue += [Reply(500, {"e": 1}), Reply(502), Reply(500), Reply(200, {"ok": True})]
    sleeps = Sleeps()
    http = client(server.url, sleeps)
    assert http.request("GET", http.url_for("customers"), operation="list").body == {"ok": True}
    assert len(server.seen) == 4
    # equal jitter with rng=0.5: 0.75 x (0.5, 1, 2)
    assert sleeps.calls == [0.375, 0.75, 1.5]


def test_backoff_is_capped_by_max_backoff(server: ScriptedServer) -> None:
    server.handler = lambda seen: Reply(500)
    sleeps = Sleeps()
    http = client(server.url, sleeps, retries={"max_attempts": 6, "backoff": 4, "max_backoff": 10})
    with pytest.raises(HttpError):
        http.request("GET", http.url_for("customers"), operation="list")
    assert sleeps.calls == [3.0, 6.0, 7.5, 7.5, 7.5]
    assert len(server.seen) == 6


def test_429_honours_retry_after_seconds(server: ScriptedServer) -> None:
    server.queue += [Reply(429, {"error": "slow down"}, {"Retry-After": "7"}), Reply(200, {})]
    sleeps = Sleeps()
    http = client(server.url, sleeps)
    http.request("GET", http.url_for("customers"), operation="list")
    assert sleeps.calls == [7.0]
    assert len(server.seen) == 2


def test_429_honours_retry_after_http_date_using_the_clock(server: ScriptedServer) -> None:
    when = email.utils.formatdate(NOW + 12, usegmt=True)
    server.queue += [Reply(429, None, {"Retry-After": when}), Reply(200, {})]
    sleeps = Sleeps()
    http = client(server.url, sleeps)
    http.request("GET", http.url_for("customers"), operation="list")
    assert sleeps.calls == [12.0]


def test_retry_after_is_capped_and_garbage_falls_back_to_backoff(server: ScriptedServer) -> None:
    server.queue += [
        Reply(503, None, {"Retry-After": "3600"}),
        Reply(503, None, {"Retry-After": "soon-ish"}),
        Reply(200, {}),
    ]
    sleeps = Sleeps()
    http = client(server.url, sleeps, retries={"max_attempts": 3, "max_retry_after": 60})
    http.request("GET", http.url_for("customers"), operation="list")
    assert sleeps.calls == [60.0, 0.75]


def test_final_error_names_system_operation_method_path_status_and_body(
    server: ScriptedServer,
) -> None:
    server.handler = lambda seen: Reply(503, {"message": "maintenance window"})
    sleeps = Sleeps()
    http = client(server.url, sleeps)
    with pytest.raises(HttpError) as caught:
        http.request(
            "GET",
            http.url_for("customers"),
            operation="list",
            params={"page": "3", "token": "abc123"},
        )
    error = caught.value
    text = str(error)
    assert isinstance(error, ConnectorError) and not isinstance(error, RejectedError)
    assert "'testsys'" in text and "'list'" in text
    assert "GET /customers?page=3&token=***" in text
    assert "after 4 attempts" in text and "HTTP 503" in text and "maintenance window" in text
    assert "abc123" not in text
    assert (error.status, error.attempts, error.method) == (503, 4, "GET")
    assert len(server.seen) == 4 and len(sleeps.calls) == 3


def test_422_is_rejected_at_once_with_status_and_parsed_body(server: ScriptedServer) -> None:
    server.handler = lambda seen: Reply(422, {"errors": {"email": "is invalid"}})
    sleeps = Sleeps()
    http = client(server.url, sleeps)
    with pytest.raises(RejectedError) as caught:
        http.request(
            "POST",
            http.url_for("customers"),
            operation="create",
            json_body={"name": "x"},
            idempotent=False,
        )
    assert caught.value.status == 422
    assert caught.value.body == {"errors": {"email": "is invalid"}}
    assert "rejected with HTTP 422" in str(caught.value)
    assert len(server.seen) == 1 and sleeps.calls == []
    assert server.seen[0].body == {"name": "x"}


def test_a_body_that_is_not_plain_json_fails_before_sending(server: ScriptedServer) -> None:
    http = client(server.url, Sleeps())
    with pytest.raises(HttpError, match="not plain JSON"):
        http.request(
            "POST",
            http.url_for("customers"),
            operation="create",
            json_body={"price": Decimal("1.50")},
            idempotent=False,
        )
    assert server.seen == []


def test_404_is_not_found(server: ScriptedServer) -> None:
    server.handler = lambda seen: Reply(404, {"error": "no such customer"})
    http = client(server.url, Sleeps())
    with pytest.raises(NotFoundError) as caught:
        http.request("GET", http.url_for("customers/9"), operation="list")
    assert caught.value.status == 404 and len(server.seen) == 1


@pytest.mark.parametrize("status", [401, 403])
def test_bad_credentials_are_not_a_rejection_of_one_record(
    server: ScriptedServer, status: int
) -> None:
    server.handler = lambda seen: Reply(status, {"type": "authentication_error"})
    http = client(server.url, Sleeps())
    with pytest.raises(AuthenticationError) as caught:
        http.request("GET", http.url_for("customers"), operation="list")
    assert not isinstance(caught.value, RejectedError)
    assert caught.value.status == status and len(server.seen) == 1


def test_read_timeout_is_retried(server: ScriptedServer) -> None:
    server.queue += [Reply(200, {"late": True}, delay=0.6), Reply(200, {"fast": True})]
    sleeps = Sleeps()
    http = client(server.url, sleeps, timeout=0.2)
    assert http.request("GET", http.url_for("customers"), operation="list").body == {"fast": True}
    assert len(server.seen) == 2 and sleeps.calls == [0.375]


def test_timeout_of_a_non_idempotent_request_is_not_retried(server: ScriptedServer) -> None:
    server.queue += [Reply(201, {"id": 1}, delay=0.6)]
    sleeps = Sleeps()
    http = client(server.url, sleeps, timeout=0.2)
    with pytest.raises(HttpError, match=r"POST /customers failed after 1 attempt: timed out"):
        http.request(
            "POST", http.url_for("customers"), operation="create", json_body={}, idempotent=False
        )
    assert len(server.seen) == 1 and sleeps.calls == []


def test_non_idempotent_is_retried_on_429_but_not_on_500(server: ScriptedServer) -> None:
    server.queue += [Reply(429, None, {"Retry-After": "1"}), Reply(500, {"e": "boom"})]
    sleeps = Sleeps()
    http = client(server.url, sleeps)
    with pytest.raises(HttpError, match="after 2 attempts: HTTP 500"):
        http.request(
            "POST", http.url_for("customers"), operation="create", json_body={}, idempotent=False
        )
    assert len(server.seen) == 2 and sleeps.calls == [1.0]


def test_dropped_connection_retried_only_when_idempotent(server: ScriptedServer) -> None:
    server.queue += [Reply(drop=True), Reply(200, {"ok": 1})]
    http = client(server.url, Sleeps())
    assert http.request("GET", http.url_for("customers"), operation="list").body == {"ok": 1}
    server.reset()
    server.queue += [Reply(drop=True), Reply(201, {"id": 1})]
    with pytest.raises(HttpError, match="connection failed"):
        http.request(
            "POST", http.url_for("customers"), operation="create", json_body={}, idempotent=False
        )
    assert len(server.seen) == 1


def test_connection_refused_is_retried_even_for_posts() -> None:
    sleeps = Sleeps()
    http = client(f"http://127.0.0.1:{free_port()}", sleeps)
    with pytest.raises(HttpError) as caught:
        http.request(
            "POST", http.url_for("customers"), operation="create", json_body={}, idempotent=False
        )
    assert "after 4 attempts: connection failed" in str(caught.value)
    assert caught.value.status is None and len(sleeps.calls) == 3


def echo_everything(seen: Seen) -> Reply:
    return Reply(
        500,
        {
            "auth": seen.headers.get("authorization"),
            "query": seen.query,
            "note": f"bad key {SECRET_KEY}",
        },
    )


def test_no_secret_in_any_error_text_repr_or_body(server: ScriptedServer) -> None:
    server.handler = echo_everything
    system = make_system(
        server.url,
        OPS,
        authentication="basic",
        username="$SECRET(api-key)",
        password="",
        headers={"X-Api-Key": "key=$SECRET(api-key)"},
    )
    http = HttpClient(system, sleep=Sleeps(), rng=lambda: 0.5)
    with pytest.raises(HttpError) as caught:
        http.request(
            "GET",
            http.url_for("customers"),
            operation="list",
            params={"api_key": system.headers["X-Api-Key"]},
        )
    error = caught.value
    basic = base64.b64encode(f"{SECRET_KEY}:".encode()).decode()
    assert server.seen[0].headers["authorization"] == f"Basic {basic}"
    assert server.seen[0].headers["x-api-key"] == f"key={SECRET_KEY}"
    assert server.seen[0].param("api_key") == f"key={SECRET_KEY}"
    rendered = [
        str(error),
        repr(error),
        repr(error.body),
        repr(error.to_dict()),
        error.url,
        repr(system),
        repr(http.system),
    ]
    for text in rendered:
        assert SECRET_KEY not in text and basic not in text
    assert "api_key=***" in str(error) and "***" in repr(error.body)


def test_secret_values_refuse_to_be_pickled() -> None:
    system = make_system(
        "http://127.0.0.1:1", OPS, authentication="bearer", token="$SECRET(api-key)"
    )
    with pytest.raises(TypeError):
        pickle.dumps(system.token)
    assert f"{system.token}" == "***" and str(system.token) == "***"


def test_redirects_are_not_followed(server: ScriptedServer) -> None:
    server.handler = lambda seen: Reply(302, None, {"Location": "http://example.invalid/x"})
    system = make_system(server.url, OPS, headers={"X-Api-Key": "$SECRET(api-key)"})
    http = HttpClient(system, sleep=Sleeps())
    with pytest.raises(HttpError, match="redirects are not followed") as caught:
        http.request("GET", http.url_for("customers"), operation="list")
    assert caught.value.status == 302 and len(server.seen) == 1


def test_bearer_token_is_sent(server: ScriptedServer) -> None:
    server.queue.append(Reply(200, {}))
    system = make_system(server.url, OPS, authentication="bearer", token="$SECRET(api-key)")
    http = HttpClient(system, sleep=Sleeps())
    http.request("GET", http.url_for("customers"), operation="list")
    assert server.seen[0].headers["authorization"] == f"Bearer {SECRET_KEY}"


def test_refuses_to_send_credentials_to_another_origin(server: ScriptedServer) -> None:
    http = client(server.url, Sleeps())
    with pytest.raises(ConnectorError, match="refusing to send credentials"):
        http.request("GET", "http://example.invalid/steal", operation="list")
    assert server.seen == []


@settings(max_examples=40, deadline=None)
@given(
    # The "sk-" prefix keeps a generated secret from being a substring of the fixed message
    # text (a secret like "HttpEr" would "survive" inside the word HttpError).
    secret=st.text(string.ascii_letters + string.digits + "-_.", min_size=8, max_size=24).map(
        lambda s: "sk-" + s
    ),
    status=st.sampled_from([400, 404, 422, 500, 503]),
    where=st.sampled_from(["body", "text", "key"]),
)
def test_no_secret_survives_in_errors_for_any_value(
    server: ScriptedServer, secret: str, status: int, where: str
) -> None:
    echo: Any = {"body": {"detail": f"bad token {secret}!"}, "key": {secret: [secret]}}.get(
        where, f"<p>{secret}</p>"
    )
    server.reset(
        lambda seen: Reply(
            status,
            echo if where != "text" else None,
            raw=None if where != "text" else echo.encode(),
        )
    )
    system = load_system_config(
        {
            "_id": "s",
            "type": "system:rest",
            "base_url": server.url,
            "authentication": "bearer",
            "token": "$SECRET(t)",
            "retries": {"max_attempts": 2},
            "operations": {"list": {"params": {"access_token": "$SECRET(t)"}}},
        },
        file="systems/s.json",
        path=JsonPath(),
        env={},
        secrets={"t": secret},
    )
    http = HttpClient(system, sleep=Sleeps())
    with pytest.raises(HttpError) as caught:
        http.request(
            "GET", http.url_for("x"), operation="list", params=system.operations["list"].params
        )
    error = caught.value
    for text in (str(error), repr(error), repr(error.body), repr(error.to_dict()), error.url):
        assert secret not in text
    assert server.seen[-1].headers["authorization"] == f"Bearer {secret}"
