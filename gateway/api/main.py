"""The /v1 router: one router per resource."""

from fastapi import APIRouter

from .routes import credit_lines, documents, offers, parties, receivables, transactions, vouchers

api_router = APIRouter(prefix="/v1")
for module in (parties, credit_lines, documents, receivables, vouchers, offers, transactions):
    api_router.include_router(module.router)
