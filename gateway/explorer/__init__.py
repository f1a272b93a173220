"""The browser explorer: one HTML page, a script and a stylesheet, served by the gateway itself.

Self-contained (no CDN, no build step): the page draws a receivable's voucher tree as inline SVG
from the JSON of /v1/explorer (gateway/api/routes/explorer.py), sending the API key the user types
in as `Authorization: Bearer`, as any API client does. The Content-Security-Policy allows only
this origin's own files, so an injected party name can never run as script.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from ..errors import NotFound

router = APIRouter(include_in_schema=False)

#: The files the page is made of, and their media types (nothing else is served from here).
FILES = {"index.html": "text/html; charset=utf-8", "explorer.js": "text/javascript; charset=utf-8",
         "explorer.css": "text/css; charset=utf-8"}
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _file(name: str) -> Response:
    if name not in FILES:
        raise NotFound("the explorer has no such file", name=name)
    content = resources.files(__package__).joinpath("static", name).read_bytes()
    return Response(content, media_type=FILES[name], headers=HEADERS)


@router.get("/explorer")
def page() -> Response:
    """The explorer page (GET /explorer)."""
    return _file("index.html")


@router.get("/explorer/")
def page_slash() -> RedirectResponse:
    return RedirectResponse("/explorer", status_code=308)


@router.get("/explorer/{name}")
def asset(name: str) -> Response:
    """The page's script and stylesheet."""
    return _file(name)
