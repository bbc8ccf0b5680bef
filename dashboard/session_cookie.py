"""The session cookie: an HttpOnly cookie that a small HTTP route beside Streamlit sets.

A Streamlit script cannot set response headers, and a cookie written by JavaScript
(``document.cookie``) cannot be HttpOnly: any script running in the page could read it. So
the app serves one extra route (``dashboard/server.py`` mounts it with ``st.App(routes=...)``):

1. after a sign-in, the page run swaps the session's token for a one-time code (``issue``:
   single use, valid for a minute, kept in this process only as a hash) and renders a
   script that posts the code to the route;
2. the route redeems the code and answers ``Set-Cookie: pf_session=TOKEN; HttpOnly;
   SameSite=Strict; Path=/`` (and ``Secure`` when the request came over https);
3. a reload sends the cookie with Streamlit's websocket handshake, where
   ``st.context.cookies`` reads it.

Sign-out posts ``DELETE`` to the same route, which clears the cookie (the server-side
session has ended anyway, so a cookie that survives is worth nothing). When the app runs
without the route (``streamlit run dashboard/app.py``), ``mounted()`` is False and sessions
last as long as the browser tab, as they did before.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from urllib.parse import urlsplit

COOKIE = "pf_session"
ROUTE = "/pf/session"
CODE_SECONDS = 60.0

_mounted = False


class Handoffs:
    """One-time codes for session tokens: ``issue`` in the page run, ``redeem`` in the route."""

    def __init__(self, seconds: float = CODE_SECONDS, clock=time.monotonic) -> None:
        self.seconds, self.clock = seconds, clock
        self._codes: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def issue(self, token: str) -> str:
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._drop_expired()
            self._codes[_digest(code)] = (token, self.clock() + self.seconds)
        return code

    def redeem(self, code: str) -> str | None:
        """The token for ``code`` once; None when unknown, used or expired."""
        with self._lock:
            self._drop_expired()
            entry = self._codes.pop(_digest(code), None)
        return entry[0] if entry else None

    def pending(self, code: str) -> bool:
        with self._lock:
            self._drop_expired()
            return _digest(code) in self._codes

    def _drop_expired(self) -> None:
        now = self.clock()
        for key in [k for k, (_, until) in self._codes.items() if until < now]:
            del self._codes[key]


HANDOFFS = Handoffs()


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8", "replace")).hexdigest()


def route_path() -> str:
    from streamlit import config
    from streamlit.url_util import make_url_path

    return make_url_path(config.get_option("server.baseUrlPath") or "", ROUTE)


def mounted() -> bool:
    """Whether this process serves the cookie route (``python launch.py`` does)."""
    return _mounted


def routes() -> list:
    """The route for ``st.App(routes=...)``."""
    from starlette.routing import Route

    global _mounted
    _mounted = True
    return [Route(route_path(), endpoint, methods=["POST", "DELETE"])]


async def endpoint(request):
    from starlette.responses import Response

    if not _same_origin(request):
        return Response("cross-origin request refused", status_code=403)
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    options = {"path": "/", "httponly": True, "samesite": "strict", "secure": _https(request)}
    if request.method == "DELETE":
        response.delete_cookie(COOKIE, **options)
        return response
    code = (await request.body())[:200].decode("ascii", "replace").strip()
    token = HANDOFFS.redeem(code) if code else None
    if token is None:
        return Response("unknown or expired code", status_code=400)
    response.set_cookie(COOKIE, token, **options)  # no max-age: the browser drops it when it closes
    return response


def set_script(code: str) -> str:
    """The page script that hands ``code`` to the route."""
    return _fetch("POST", code)


def clear_script() -> str:
    return _fetch("DELETE", "")


def _fetch(method: str, body: str) -> str:
    return (
        f"<script>fetch({json.dumps(route_path())}, {{method: {json.dumps(method)}, body: {json.dumps(body)}, "
        "credentials: 'same-origin', cache: 'no-store'})</script>"
    )


def _https(request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def _same_origin(request) -> bool:
    """Only the app's own pages may set or clear the cookie."""
    origin = request.headers.get("origin")
    if origin:
        return urlsplit(origin).netloc == request.headers.get("host")
    return request.headers.get("sec-fetch-site", "same-origin") == "same-origin"
