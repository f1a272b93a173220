"""The ASGI application: ``uvicorn gateway.main:app`` (settings from GATEWAY_* variables)."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI

from . import errors, explorer
from .api.main import api_router
from .api.routes import health
from .config import Settings
from .service import Gateway

log = logging.getLogger("gateway")


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
    app.include_router(health.router)
    app.include_router(api_router)
    app.include_router(explorer.router)  # GET /explorer: the browser explorer over /v1/explorer
    return app


app = create_app()
