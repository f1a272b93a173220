"""Errors as HTTP responses: one shape for all of them.

``{"error": "<Name>", "detail": "<message>", <argument>: <value>, ...}``

* Contract refusals (ledger.exceptions.ContractError) keep the Solidity error's name and its
  arguments by snake_case name; the gateway's own refusals (ApiError subclasses) do the same.
* Argument values: integers are always decimal strings (amounts are uint256 and JSON numbers
  lose precision above 2^53; one rule for all is simpler for clients than a threshold), bytes
  are 0x-hex, addresses checksummed strings.
* Status: 404 nonexistent, 403 role or ownership, 409 duplicates and state conflicts, 422 invalid
  input, 400 any other refusal. 502/503 only when the chain or the mirror fails, never for a
  caller's mistake.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

import requests
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger.exceptions import ChainError, ContractError, LedgerError, NodeError, TransactionReverted

log = logging.getLogger("gateway")


def jsonable(value: Any) -> Any:
    """An error argument as JSON: ints as strings, bytes as 0x-hex."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


class ApiError(Exception):
    """A refusal by the gateway itself. Subclasses set `status`; kwargs become the arguments."""

    status = 400

    def __init__(self, detail: str, **args: Any):
        super().__init__(detail)
        self.detail = detail
        self.args_ = args

    def body(self) -> dict[str, Any]:
        return {"error": type(self).__name__, "detail": self.detail,
                **{k: jsonable(v) for k, v in self.args_.items()}}


class Unauthenticated(ApiError):
    status = 401


class RoleRequired(ApiError):
    status = 403


class NotOwner(ApiError):
    status = 403


class ReadOnlyParty(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class DuplicateDocument(ApiError):
    status = 409


class PartyExists(ApiError):
    status = 409


class IdempotencyKeyReused(ApiError):
    status = 422


class IdempotencyInProgress(ApiError):
    status = 409


class InvalidInput(ApiError):
    status = 422


class MirrorUnavailable(ApiError):
    status = 503


class ChainUnavailable(ApiError):
    status = 502


_FORBIDDEN = re.compile(r"(Unauthorized|Unsolicited|NotMember|Not(Supplier|Obligor|Financier|Seller|Offeree|DealFinancier|Owner"
                        r"|Pledgee|VoucherHolder)$|IncorrectHolder|SelfAppraisal)")
_CONFLICT = re.compile(r"(Duplicate|Not(Pending|Active|Open|Overdue|Repayable|YetOverdue|Listed|Pledged|Appraised"
                       r"|Deal|Locked|Defaulted)$|Already|Expired|Insufficient|Overpayment|RecourseState|Pause"
                       r"|ValueChanged|VoucherNotHeld|LineFull|CollateralShortfall|NothingToClaim|Reentrant"
                       r"|TooManyAppraisals|WithoutRecourse|Not(Foreclosed|Expelled)$|ExposureCovered"
                       r"|HeldInForeclosure|NoLiveAppraisal|StillSecuring|OtherVoucherCited"
                       r"|AboveLimit|BelowLimit|WindowOpen|ReceivableOverdue$)")
_INVALID = re.compile(r"(Invalid|Zero|SameToken|SlotMismatch|HolderMismatch|CurrencyMismatch|CurrencyDecimals"
                      r"|SelfDeal|ObligorMismatch|UnknownRole|LineMismatch|TooLong)")


def status_of(error: ContractError) -> int:
    name = type(error).__name__
    if name.endswith("Nonexistent"):
        return 404
    if _FORBIDDEN.search(name):
        return 403
    if _CONFLICT.search(name):
        return 409
    if _INVALID.search(name):
        return 422
    return 400


def contract_error_body(error: ContractError) -> dict[str, Any]:
    body = {"error": type(error).__name__, "detail": error.message,
            **{k: jsonable(v) for k, v in error.as_dict().items()}}
    if error.tx_hash:
        body["tx_hash"] = error.tx_hash
    return body


def response_of(error: Exception) -> tuple[int, dict[str, Any]]:
    """The status and body for any error a handler lets through."""
    if isinstance(error, ApiError):
        return error.status, error.body()
    if isinstance(error, ContractError):
        return status_of(error), contract_error_body(error)
    if isinstance(error, TransactionReverted):
        # Mined but reverted for a reason the replay could not recover: a state conflict with
        # a concurrent transaction (e.g. two splits of one voucher in one block).
        return 409, {"error": "TransactionReverted", "detail": str(error), "tx_hash": error.tx_hash}
    if isinstance(error, ChainError):
        return 502, {"error": "ChainUnavailable", "detail": "the chain did not answer as expected"}
    if isinstance(error, NodeError):
        return 503, {"error": "ChainUnavailable", "detail": "the chain node does not answer; retry later"}
    if isinstance(error, DBAPIError):
        # The gateway's or the mirror's database is away (stopped, locked, unreachable).
        return 503, {"error": "DatabaseUnavailable", "detail": "the database does not answer; retry later"}
    if isinstance(error, requests.RequestException):
        # web3's own HTTP calls (a view, a self-signed transaction) to a node that is away.
        return 503, {"error": "ChainUnavailable", "detail": "the chain node does not answer; retry later"}
    if isinstance(error, TimeoutError):
        return 503, {"error": "MirrorUnavailable", "detail": str(error)}
    if isinstance(error, LedgerError):
        return 503, {"error": type(error).__name__, "detail": str(error)}
    raise error


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at the request's path (with HEAD where GET, and OPTIONS)."""
    from starlette.routing import Match

    methods: set[str] = set()
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            methods.add(method)
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods | {"OPTIONS"})


def install(app: FastAPI) -> None:
    """Register the exception handlers."""

    @app.exception_handler(ApiError)
    @app.exception_handler(LedgerError)
    @app.exception_handler(TimeoutError)
    @app.exception_handler(DBAPIError)
    @app.exception_handler(requests.RequestException)
    async def _ledger(request: Request, error: Exception) -> JSONResponse:
        status, body = response_of(error)
        if status >= 500:
            log.warning("%s %s: %s", request.method, request.url.path, body["error"])
        return JSONResponse(body, status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        # Starlette's own refusals (a body that is not JSON, an unknown path, a wrong method)
        # in the same shape as every other error.
        headers = dict(getattr(error, "headers", None) or {})
        if error.status_code == 405:
            # Starlette's Allow names the methods of the first route that matched the path only
            # (POST where a GET route of the same path exists too): name every method there is.
            allowed = allowed_methods(request)
            headers["Allow"] = ", ".join(allowed)
            if request.method == "OPTIONS":
                return Response(status_code=204, headers=headers)
        name = HTTPStatus(error.status_code).phrase.replace(" ", "").replace("-", "")
        return JSONResponse({"error": name, "detail": str(error.detail)}, status_code=error.status_code,
                            headers=headers or None)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        # Anything no other handler took (a bug): still the error shape, never a plain-text 500.
        log.error("%s %s failed", request.method, request.url.path, exc_info=error)
        return JSONResponse({"error": "InternalError", "detail": "the request failed unexpectedly"},
                            status_code=500)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
                  for e in error.errors()]
        return JSONResponse({"error": "RequestValidationError", "detail": "the request is invalid",
                             "errors": errors}, status_code=422)
