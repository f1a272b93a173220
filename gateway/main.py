"""The ASGI application: ``uvicorn gateway.main:app`` (settings from GATEWAY_* variables)."""

from __future__ import annotations

import logging
import sys
from contextlib import asynccontextmanager

import py_ecc  # noqa: F401  (imported for its side effect, undone below: see RECURSION_LIMIT)

from fastapi import FastAPI
from starlette.formparsers import MultiPartParser

from . import errors, explorer
from .api.links import add_links
from .api.main import api_router
from .api.routes import health
from .config import Settings
from .service import Gateway
from .validation import MAX_UPLOAD_BODY, BodyGuard

log = logging.getLogger("gateway")

#: The largest request body (an upload); JSON bodies are smaller (validation.MAX_JSON_BODY).
#: Anything larger is refused (413) before it is read, by validation.BodyGuard.
MAX_BODY = MAX_UPLOAD_BODY
#: py_ecc (imported through eth_account) raises Python's recursion limit to 100,000 when it is
#: imported. Deep recursion in C code (the JSON scanner and encoder, repr, pickle) is bounded by
#: that limit only, so 100,000 levels overflow an 8 MiB thread stack and kill the process
#: (measured: a segfault at 100,000 nested arrays, none at 50,000). The gateway needs no deep
#: recursion (it never computes pairings; request bodies are at most validation.MAX_JSON_DEPTH
#: deep), but a response nests a voucher tree as deep as its splits, so the limit goes back to
#: 10,000: a RecursionError (a 500 in the error shape) long before any C stack ends, and room
#: for trees thousands of splits deep. BodyGuard is the first line; this is the second.
RECURSION_LIMIT = 10_000
sys.setrecursionlimit(RECURSION_LIMIT)
# Uploads stay in memory: Starlette spools a file over 1 MiB to a temporary file on disk, and a
# trade document or appraisal report must never be written anywhere in the clear.
MultiPartParser.spool_max_size = MAX_BODY


def create_app(settings: Settings | None = None, *, gateway: Gateway | None = None) -> FastAPI:
    """Build the app. The lifespan connects to the chain, opens the databases and starts the
    mirror thread (from `settings`, or the environment), unless a started `gateway` is given."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        own = gateway is None
        gw = Gateway(settings or Settings.from_env()).start() if own else gateway
        app.state.gateway = gw
        log.info("gateway ready: %r", gw)
        try:
            yield
        finally:
            if own:
                gw.close()

    app = FastAPI(
        title="Receivables ledger gateway",
        version="1",
        description="Parties work with the receivables and e-voucher ledger through this API. Writes return "
                    "once mined and applied by the mirror; reads say which block they reflect. Amounts are "
                    "decimal strings in the currency's smallest unit.",
        lifespan=lifespan,
    )
    errors.install(app)
    # Before routing, authentication and any parsing: bounds and checks every body.
    app.add_middleware(BodyGuard)
    app.include_router(health.router)
    app.include_router(api_router)
    app.include_router(explorer.router)  # GET /explorer: the browser explorer over /v1/explorer
    _with_links(app)
    return app


def _with_links(app: FastAPI) -> None:
    """Serve the generated OpenAPI document with its links (api/links.py) added."""
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = add_links(generate())
        return app.openapi_schema

    app.openapi = openapi


app = create_app()
