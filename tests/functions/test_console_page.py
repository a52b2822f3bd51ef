"""The console page as the function serves it: self-contained, under a CSP that admits only its own script and style."""

from __future__ import annotations

import base64
import hashlib
import re

import azure.functions as func

from tests.functions.registered import functions


def test_console_is_one_self_contained_page_under_a_strict_policy() -> None:
    resp = functions()["console"].get_user_function()(func.HttpRequest("GET", "https://app.example/api/console?code=k", body=b""))
    assert resp.status_code == 200 and resp.mimetype == "text/html" and resp.charset == "utf-8"
    html = resp.get_body().decode()
    # Nothing from another origin: no URL but the SVG namespace, links only to data: or this page, no CSS import.
    assert re.findall(r"[a-z]+://[^\"' )]+", html) == ["http://www.w3.org/2000/svg"]
    assert all(v.startswith(("data:", "#")) for v in re.findall(r"(?:src|href)=\"([^\"]*)\"", html))
    assert "@import" not in html and "url(" not in html
    policy = dict(p.strip().split(" ", 1) for p in resp.headers["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'none'" and policy["connect-src"] == "'self'" and policy["frame-ancestors"] == "'none'"
    for tag, directive in (("script", "script-src"), ("style", "style-src")):
        bodies = re.findall(rf"<{tag}>(.*?)</{tag}>", html, flags=re.DOTALL)
        assert len(bodies) == 1
        digest = base64.b64encode(hashlib.sha256(bodies[0].encode()).digest()).decode()
        assert policy[directive] == f"'sha256-{digest}'"
    assert resp.headers["Referrer-Policy"] == "no-referrer"  # the page's URL carries the key
    assert resp.headers["Cache-Control"] == "no-store"
