"""OpenAPI links: which response value feeds which next request (the schema's `links`).

A client (or a code generator, or a fuzzer) reads here that the `receivable_id` a created
receivable answers with is the `{receivable_id}` its supplier accepts and its obligor repays, that
a split's new `token_id` can be split, offered or merged again, that an offer's `offer_id` can be
accepted or cancelled, and so on. tests/gateway/test_gateway_fuzz.py's state machine follows
these links to reach deep states (a voucher split, offered, bought, claimed).

The table is kept apart from the routes and added to the generated document in one place
(`add_links`), so a route's signature says what it takes and this file says how they chain.
"""

from __future__ import annotations

from typing import Any

#: Where a value comes from in a response (or the request that produced it).
R_BODY = "$response.body#/"
REQ_PATH = "$request.path."
REQ_BODY = "$request.body#/"

_RECEIVABLE = "/v1/receivables/{receivable_id}"
_VOUCHER = "/v1/vouchers/{token_id}"
_OFFER = "/v1/offers/{offer_id}"
_LINE = "/v1/credit-lines/{line_id}"
_ASSET = "/v1/data-assets/{asset_id}"
_PARTY = "/v1/parties/{address}"

# Targets that take one id in their path, by the kind of id.
RECEIVABLE_TARGETS = [("post", f"{_RECEIVABLE}/{a}") for a in (
    "accept", "reject", "revoke", "repayments", "mark-overdue", "declare-default")] + [
    ("get", _RECEIVABLE), ("get", "/v1/explorer/receivables/{receivable_id}")]
VOUCHER_TARGETS = [("post", f"{_VOUCHER}/{a}") for a in (
    "split", "transfer-value", "merge", "transfer", "claim", "approve-value", "approve")] + [
    ("get", _VOUCHER), ("get", f"{_VOUCHER}/proof"), ("get", "/v1/explorer/vouchers/{token_id}")]
OFFER_TARGETS = [("post", f"{_OFFER}/{a}") for a in ("cancel", "accept", "exercise-recourse", "pay-recourse")] + [
    ("get", _OFFER)]
LINE_TARGETS = [("post", f"{_LINE}/{a}") for a in ("terms", "advance-rate", "sync-collateral")] + [("get", _LINE)]
ASSET_TARGETS = [("post", f"{_ASSET}/{a}") for a in (
    "appraisals", "listing", "pledge", "release", "foreclose", "appraisal-reports")] + [("get", _ASSET)]
PARTY_TARGETS = [("post", f"{_PARTY}/{a}") for a in ("roles", "expel", "admit")] + [
    ("get", f"{_PARTY}/positions"), ("get", "/v1/explorer/parties/{address}")]


def _ref(method: str, path: str) -> str:
    """A JSON pointer to an operation of this document (RFC 6901: `/` is `~1`)."""
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


def _name(method: str, path: str) -> str:
    tail = [p for p in path.split("/") if p and not p.startswith("{")][1:]
    return method.capitalize() + "".join(w.replace("-", " ").title().replace(" ", "") for w in tail)


def _to(targets: list[tuple[str, str]], parameter: str, expression: str) -> dict[str, dict[str, Any]]:
    return {_name(m, p): {"operationRef": _ref(m, p), "parameters": {parameter: expression}} for m, p in targets}


def _body(method: str, path: str, **fields: str) -> dict[str, dict[str, Any]]:
    """A link that fills fields of the target's body (the rest of the body is the client's)."""
    return {_name(method, path) + "Body": {"operationRef": _ref(method, path), "requestBody": fields}}


def _receivable_links(source: str) -> dict:
    return _to(RECEIVABLE_TARGETS, "receivable_id", source)


def _voucher_links(source: str) -> dict:
    return {**_to(VOUCHER_TARGETS, "token_id", source), **_body("post", "/v1/offers", token_id=source)}


#: (method, path, status) -> the links of that response.
LINKS: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {
    ("post", "/v1/receivables", "201"): {
        **_receivable_links(R_BODY + "receivable_id"), **_voucher_links(R_BODY + "token_id")},
    ("post", f"{_RECEIVABLE}/accept", "200"): _receivable_links(R_BODY + "receivable_id"),
    ("get", "/v1/receivables", "200"): _receivable_links(R_BODY + "items/*/receivable_id"),
    ("get", _RECEIVABLE, "200"): {**_voucher_links(R_BODY + "root_token_id"),
                                  **_to(LINE_TARGETS, "line_id", R_BODY + "line_id")},
    ("post", f"{_VOUCHER}/split", "201"): {
        **_voucher_links(R_BODY + "token_id"),
        # The new voucher and its parent belong to one receivable: value moves between them, and
        # (split to oneself) they merge again.
        "ParentTransferValue": {"operationRef": _ref("post", f"{_VOUCHER}/transfer-value"),
                                "parameters": {"token_id": REQ_PATH + "token_id"},
                                "requestBody": {"to_token_id": R_BODY + "token_id"}},
        "TransferValueBack": {"operationRef": _ref("post", f"{_VOUCHER}/transfer-value"),
                              "parameters": {"token_id": R_BODY + "token_id"},
                              "requestBody": {"to_token_id": REQ_PATH + "token_id"}},
        "MergeBack": {"operationRef": _ref("post", f"{_VOUCHER}/merge"),
                      "parameters": {"token_id": R_BODY + "token_id"},
                      "requestBody": {"into_token_id": REQ_PATH + "token_id"}}},
    ("get", "/v1/vouchers", "200"): _voucher_links(R_BODY + "items/*/token_id"),
    ("post", "/v1/offers", "201"): {**_to(OFFER_TARGETS, "offer_id", R_BODY + "offer_id"),
                                    **_to(VOUCHER_TARGETS, "token_id", R_BODY + "token_id")},
    ("post", f"{_OFFER}/accept", "200"): _to(OFFER_TARGETS, "offer_id", R_BODY + "offer_id"),
    ("get", _OFFER, "200"): _voucher_links(R_BODY + "token_id"),
    ("post", "/v1/credit-lines", "201"): {
        **_to(LINE_TARGETS, "line_id", R_BODY + "line_id"),
        **_body("post", "/v1/receivables", line_id=R_BODY + "line_id"),
        **_body("post", f"{_ASSET}/pledge", line_id=R_BODY + "line_id")},
    ("post", "/v1/data-assets", "201"): _to(ASSET_TARGETS, "asset_id", R_BODY + "asset_id"),
    ("post", f"{_ASSET}/appraisal-reports", "201"): {
        "GetAppraisalReport": {"operationRef": _ref("get", f"{_ASSET}/appraisal-reports/{{report_hash}}"),
                               "parameters": {"asset_id": R_BODY + "asset_id", "report_hash": R_BODY + "report_hash"}},
        "PostAppraisalsBody": {"operationRef": _ref("post", f"{_ASSET}/appraisals"),
                               "parameters": {"asset_id": R_BODY + "asset_id"},
                               "requestBody": {"report_hash": R_BODY + "report_hash"}}},
    ("post", "/v1/documents", "201"): {
        "GetDocument": {"operationRef": _ref("get", "/v1/documents/{document_hash}"),
                        "parameters": {"document_hash": R_BODY + "document_hash"}},
        **_body("post", "/v1/receivables", document_hash=R_BODY + "document_hash")},
    ("post", "/v1/parties", "201"): _to(PARTY_TARGETS, "address", R_BODY + "address"),
    ("post", f"{_PARTY}/roles", "200"): {
        "DeleteRole": {"operationRef": _ref("delete", f"{_PARTY}/roles/{{role}}"),
                       "parameters": {"address": R_BODY + "address", "role": R_BODY + "role"}}},
    ("post", f"{_PARTY}/expel", "200"): _to([("post", f"{_PARTY}/admit")], "address", R_BODY + "address"),
    ("get", "/v1/parties/me", "200"): _to(PARTY_TARGETS[3:], "address", R_BODY + "address"),
}


def add_links(document: dict[str, Any]) -> dict[str, Any]:
    """Add LINKS to a generated OpenAPI document (in place; returned). A link whose source
    response or target operation is missing is a programming error: KeyError at start-up."""
    paths = document["paths"]
    for (method, path, status), links in LINKS.items():
        response = paths[path][method]["responses"][status]
        for link in links.values():
            _, _, target = link["operationRef"].partition("#/paths/")
            target_path, _, target_method = target.rpartition("/")
            paths[target_path.replace("~1", "/").replace("~0", "~")][target_method]  # KeyError if absent
        response.setdefault("links", {}).update(links)
    return document
