"""The /v1 router: one router per resource."""

from fastapi import APIRouter

from ..schemas import ERROR_RESPONSES

from .routes import (audit, credit_lines, data_assets, documents, explorer, offers, parties, platform, receivables,
                     transactions, vouchers)

api_router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)
for module in (parties, platform, credit_lines, documents, receivables, vouchers, offers, data_assets, transactions,
               audit, explorer):
    api_router.include_router(module.router)
