"""The ASGI application: ``uvicorn gateway.main:app`` (settings from GATEWAY_* variables)."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.formparsers import MultiPartParser

from . import errors, explorer
from .api.links import add_links
from .api.main import api_router
from .api.routes import health
from .api.routes.documents import MAX_DOCUMENT
from .config import Settings
from .service import Gateway

log = logging.getLogger("gateway")

#: The largest request body: a document of the largest size plus room for the form around it.
#: Anything larger is refused (413) before it is read.
MAX_BODY = MAX_DOCUMENT + 64 * 1024
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
        max_body_size=MAX_BODY,
    )
    errors.install(app)
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
