"""The session cookie's route (one-time codes swapped for an HttpOnly cookie), shareable links,
and the destination carried across a single sign-on round trip."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from dashboard import session_cookie
from dashboard.auth import parse_destination
from dashboard.links import link
from dashboard.session_cookie import Handoffs


@pytest.mark.parametrize(
    ("page", "params", "expected"),
    [
        ("records", {"id": "9f2c"}, "/records?id=9f2c"),
        ("evaluations", {"run": "ab12"}, "/evaluations?run=ab12"),
        ("compare", {"id": "c0ffee"}, "/compare?id=c0ffee"),
        ("review", {"queue": "complaint replies"}, "/review?queue=complaint+replies"),
        ("review", {"queue": "a&b=c"}, "/review?queue=a%26b%3Dc"),
        ("compare", {"id": None}, "/compare"),
        ("/overview/", {}, "/overview"),
    ],
)
def test_links_are_page_paths_with_their_query(page, params, expected):
    assert link(page, **params) == expected


def test_a_code_is_redeemed_once_and_only_within_a_minute():
    now = [0.0]
    handoffs = Handoffs(seconds=60, clock=lambda: now[0])
    code = handoffs.issue("the-token")
    assert code not in repr(handoffs._codes)  # kept as a hash
    assert handoffs.pending(code) and handoffs.redeem(code) == "the-token"
    assert handoffs.redeem(code) is None and not handoffs.pending(code)
    late = handoffs.issue("another")
    now[0] = 61
    assert handoffs.redeem(late) is None and handoffs._codes == {}


@pytest.fixture
def client(monkeypatch):
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    monkeypatch.setattr(session_cookie, "_mounted", False)
    app = Starlette(routes=session_cookie.routes())
    assert session_cookie.mounted()
    return TestClient(app, base_url="http://pf.example")


def test_the_route_sets_an_http_only_strict_cookie_for_a_valid_code(client):
    code = session_cookie.HANDOFFS.issue("tok-123")
    response = client.post("/pf/session", content=code)
    assert response.status_code == 204
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("pf_session=tok-123;")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie and "Max-Age" not in cookie and "expires" not in cookie.lower()
    assert client.post("/pf/session", content=code).status_code == 400  # used
    assert client.post("/pf/session", content="made-up").status_code == 400


def test_over_https_the_cookie_is_secure(client):
    code = session_cookie.HANDOFFS.issue("tok-456")
    response = client.post("/pf/session", content=code, headers={"x-forwarded-proto": "https"})
    assert "Secure" in response.headers["set-cookie"]


def test_other_sites_cannot_set_or_clear_the_cookie(client):
    code = session_cookie.HANDOFFS.issue("tok-789")
    assert client.post("/pf/session", content=code, headers={"origin": "https://evil.example"}).status_code == 403
    assert client.delete("/pf/session", headers={"sec-fetch-site": "cross-site"}).status_code == 403
    assert client.post("/pf/session", content=code, headers={"origin": "http://pf.example"}).status_code == 204


def test_sign_out_clears_the_cookie(client):
    response = client.delete("/pf/session")
    assert response.status_code == 204
    cookie = response.headers["set-cookie"]
    assert cookie.startswith('pf_session="";') and "Max-Age=0" in cookie and "HttpOnly" in cookie


def test_the_page_scripts_post_to_the_route():
    assert 'fetch("/pf/session", {method: "POST", body: "c0de"' in session_cookie.set_script("c0de")
    assert 'method: "DELETE"' in session_cookie.clear_script()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (quote(json.dumps({"page": "compare", "params": {"id": "c1"}})), {"page": "compare", "params": {"id": "c1"}}),
        (quote(json.dumps({"page": "overview"})), {"page": "overview", "params": {}}),
        (None, None),
        ("", None),
        ("not json", None),
        (quote(json.dumps(["compare"])), None),
        (quote(json.dumps({"page": "compare", "params": {"id": 3}})), None),
        (quote(json.dumps({"page": "x", "params": {"q": "y" * 3000}})), None),
    ],
)
def test_a_destination_cookie_is_read_strictly(raw, expected):
    assert parse_destination(raw) == expected
