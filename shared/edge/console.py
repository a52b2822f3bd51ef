"""The operators' console (contract §4): one self-contained page, shared/console.html, served under a strict CSP."""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from pathlib import Path

PAGE = Path(__file__).with_name("console.html")


def _hashes(html: str, tag: str) -> str:
    bodies = re.findall(rf"<{tag}>(.*?)</{tag}>", html, flags=re.DOTALL)
    return " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(b.encode()).digest()).decode()}'" for b in bodies)


@cache
def console_page() -> tuple[bytes, dict[str, str]]:
    """The page and its headers. The CSP admits exactly its own inline script and style, and API calls to this origin."""
    html = PAGE.read_text(encoding="utf-8")
    policy = "; ".join([
        "default-src 'none'", f"script-src {_hashes(html, 'script')}", f"style-src {_hashes(html, 'style')}",
        "connect-src 'self'", "img-src data:", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
    ])
    headers = {"Content-Security-Policy": policy, "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
               "X-Frame-Options": "DENY", "Cache-Control": "no-store"}
    return html.encode("utf-8"), headers
