"""Bodies that crashed or stretched a running gateway (issue 14, item 1), sent over HTTP to a real
uvicorn process: each must be a 4xx in the API's error shape, and the process must go on answering.

The first of them (100,000 '[' then 100,000 ']') killed the whole process with a segfault in the C
JSON scanner before gateway.validation.BodyGuard: py_ecc raises Python's recursion limit to 100,000.
"""

from __future__ import annotations

import socket

import httpx
import pytest

from faults_world import OPERATOR_TOKEN, build
from gateway.validation import MAX_JSON_BODY, MAX_JSON_DEPTH

DEEP = 100_000


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = build(tmp_path_factory.mktemp("hostile"))
    try:
        issued = w.issue(100_000)
        w.token_id = issued["token_id"]
        yield w
    finally:
        w.gateway.stop()
        w.node.stop()


SCHEMA = None  # refused by the schema (422), after authentication (401 without credentials)


def _bodies(to: str) -> list[tuple[str, bytes, dict[str, str], int | None]]:
    """(what, body, headers, expected status) of each hostile body: the guard's refusals come
    before authentication, SCHEMA ones after it."""
    json_type = {"Content-Type": "application/json"}
    return [
        ("100,000 nested arrays", b"[" * DEEP + b"]" * DEEP, json_type, 400),
        ("100,000 nested arrays, no Content-Type (FastAPI parses it as JSON)", b"[" * DEEP + b"]" * DEEP, {}, 400),
        ("100,000 nested arrays as application/merge-patch+json", b"[" * DEEP + b"]" * DEEP,
         {"Content-Type": "application/merge-patch+json"}, 400),
        ("100,000 nested objects (600 KB: too large already)", b'{"a":' * DEEP + b"1" + b"}" * DEEP, json_type, 413),
        ("40,000 nested objects", b'{"a":' * 40_000 + b"1" + b"}" * 40_000, json_type, 400),
        ("unclosed nesting", b"[" * DEEP, json_type, 400),
        (f"{MAX_JSON_DEPTH + 1} levels", b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1), json_type, 400),
        ("an integer of 100,000 digits", b'{"to":"%s","value":%s}' % (to.encode(), b"9" * DEEP), json_type, 422),
        ("an integer of 5,000 digits (past Python's int limit)", b'{"to":"%s","value":%s}' % (to.encode(), b"9" * 5000),
         json_type, 422),
        ("an amount above uint256", b'{"to":"%s","value":%d}' % (to.encode(), 2**256), json_type, SCHEMA),
        ("an amount as a float", b'{"to":"%s","value":1e400}' % to.encode(), json_type, SCHEMA),
        ("an amount as true", b'{"to":"%s","value":true}' % to.encode(), json_type, SCHEMA),
        ("NaN", b'{"to":"%s","value":NaN}' % to.encode(), json_type, 400),
        ("a string of 2 MiB", b'{"to":"%s","value":"%s"}' % (to.encode(), b"7" * (2 * 1024 * 1024)), json_type, 413),
        ("a body over the JSON limit", b" " * (MAX_JSON_BODY + 1), json_type, 413),
        ("not UTF-8", b'{"to":"%s","value":"\xff\xfe"}' % to.encode(), json_type, 400),
        ("UTF-16", '{"value":"1"}'.encode("utf-16"), json_type, 400),
        ("a lone surrogate escape in a key", b'{"\\ud800":1}', json_type, 400),
        ("a lone surrogate escape in a value", b'{"to":"%s","value":"\\udfff"}' % to.encode(), json_type, 400),
        ("a duplicate key", b'{"to":"%s","value":"1","value":"2"}' % to.encode(), json_type, 422),
        ("text/plain", b"value=1", {"Content-Type": "text/plain"}, 415),
        ("a form", b"to=x&value=1", {"Content-Type": "application/x-www-form-urlencoded"}, 415),
        ("XML", b"<split><value>1</value></split>", {"Content-Type": "application/xml"}, 415),
        ("not JSON at all", b"\x93U\xefo", json_type, 400),
    ]


def _is_error_shape(r: httpx.Response) -> bool:
    try:
        body = r.json()
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("error"), str) and isinstance(body.get("detail"), str)


@pytest.mark.parametrize("auth", ["none", "party"])
def test_every_crash_body_is_a_4xx_in_the_error_shape_and_the_process_keeps_serving(world, auth):
    headers = world.tier1.auth if auth == "party" else {}
    url = f"{world.gateway.url}/v1/vouchers/{world.token_id}/split"
    head = world.ledger.chain.w3.eth.block_number
    wrong = []
    for what, body, extra, status in _bodies(world.tier2.address):
        if status is SCHEMA:
            status = 422 if auth == "party" else 401
        r = httpx.post(url, content=body, headers={**headers, **extra}, timeout=60)
        if r.status_code != status or not _is_error_shape(r):
            wrong.append(f"{what}: {r.status_code} {r.text[:200]!r}")
        assert world.gateway.process.poll() is None, f"the gateway died on {what}:\n{world.gateway.log()}"
        assert httpx.get(f"{world.gateway.url}/health", timeout=10).json() == {"status": "ok"}, what
    assert not wrong, "\n".join(wrong)
    assert world.ledger.chain.w3.eth.block_number == head, "a refused body mined something"


def test_a_deep_body_is_refused_on_every_json_endpoint_before_authentication(world):
    deep = b"[" * DEEP + b"]" * DEEP
    for path in ("/v1/parties", "/v1/receivables", "/v1/offers", "/v1/credit-lines", "/v1/data-assets",
                 "/v1/transactions", f"/v1/parties/{world.tier1.address}/admit", "/v1/no-such-endpoint"):
        r = httpx.post(f"{world.gateway.url}{path}", content=deep, headers={"Content-Type": "application/json"},
                       timeout=60)
        assert r.status_code == 400 and r.json()["error"] == "BodyTooDeep", (path, r.status_code, r.text[:200])
    r = httpx.post(f"{world.gateway.url}/v1/parties", content=deep,
                   headers={"Content-Type": "application/json", "Authorization": f"Bearer {OPERATOR_TOKEN}"},
                   timeout=60)
    assert r.status_code == 400 and r.json()["error"] == "BodyTooDeep", r.text[:200]
    assert httpx.get(f"{world.gateway.url}/health", timeout=10).status_code == 200


def test_brackets_inside_strings_do_not_count_as_nesting(world):
    name = "[" * 10_000 + '{"' + "\\" + "]"
    r = httpx.post(f"{world.gateway.url}/v1/parties", json={"name": name, "roles": ["SUPPLIER_ROLE"]},
                   headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}, timeout=60)
    # Not BodyTooDeep: the name is only too long for a party (422 from the schema).
    assert r.status_code == 422 and r.json()["error"] == "RequestValidationError", r.text[:300]


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_sent(world):
    """A client announcing 10 GB gets 413 at once: the gateway does not wait to read it."""
    with socket.create_connection(("127.0.0.1", world.gateway.port), timeout=30) as conn:
        conn.sendall(b"POST /v1/documents HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; "
                     b"boundary=x\r\nContent-Length: 10000000000\r\n\r\n")
        answer = ""
        while "BodyTooLarge" not in answer:
            chunk = conn.recv(65536)
            if not chunk:
                break
            answer += chunk.decode("latin-1")
    status_line, _, rest = answer.partition("\r\n")
    assert " 413 " in status_line, answer[:300]
    assert '"error": "BodyTooLarge"' in rest or '"error":"BodyTooLarge"' in rest, answer[:500]
    assert httpx.get(f"{world.gateway.url}/health", timeout=10).status_code == 200


def test_a_chunked_body_over_the_limit_is_refused_while_it_streams(world):
    def chunks():
        for _ in range(MAX_JSON_BODY // 65536 + 2):
            yield b" " * 65536

    r = httpx.post(f"{world.gateway.url}/v1/vouchers/{world.token_id}/split", content=chunks(),
                   headers={**world.tier1.auth, "Content-Type": "application/json"}, timeout=60)
    assert r.status_code == 413 and r.json()["error"] == "BodyTooLarge", r.text[:200]
    assert httpx.get(f"{world.gateway.url}/health", timeout=10).status_code == 200
