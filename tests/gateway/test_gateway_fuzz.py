"""API fuzzing: schemathesis generates requests from the gateway's own OpenAPI document and sends
them to the app (ASGI, in-process) running on a real Anvil with the real mirror, with real
credentials: the operator's bootstrap token for the operator's endpoints, a registered party's
API key (drawn from all roles) for the rest. Every response must be documented (status code,
content type, body schema) and none may be a 5xx; after each 2xx, the same request without
credentials and with made-up ones must be refused (schemathesis's ignored_auth).

The fuzzer gets its own world (chain, gateway, parties), seeded with a receivable, vouchers, an
offer and a data asset so that small ids exist: it changes credit-line terms, expels addresses
and pauses the platform, which must not leak into the other gateway tests.

GATEWAY_FUZZ_EXAMPLES (default 10) is Hypothesis's max_examples per operation and kind of data
(the schema's examples, valid data, invalid data): about 1,700 requests in about 45 s on 2 cores.
The examples are the same every run unless GATEWAY_FUZZ_SEED is set. A larger run:
`GATEWAY_FUZZ_EXAMPLES=40 GATEWAY_FUZZ_SEED=7 bash run.sh test tests/gateway/test_gateway_fuzz.py -s`
(about 6,600 requests, 2 minutes).
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
import schemathesis
from schemathesis import GenerationMode
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, ignored_auth, response_headers_conformance,
                                               response_schema_conformance, status_code_conformance)

from gateway.main import create_app
from gateway_world import DAY, OPERATOR_TOKEN, ROLES, open_world

EXAMPLES = int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "10"))
#: Unset: the same examples every run (derandomized, so CI is repeatable); a number: other ones.
SEED = os.environ.get("GATEWAY_FUZZ_SEED")
# ignored_auth: after a 2xx, the same request without credentials and with made-up ones must be
# refused (401/403), so no operation that declares the bearer scheme answers without it.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, ignored_auth]

# The endpoints guarded by the operator's bootstrap credential (gateway/api/deps.py OperatorDep).
OPERATOR_ONLY = {
    ("POST", "/v1/parties"), ("POST", "/v1/parties/{address}/roles"), ("DELETE", "/v1/parties/{address}/roles/{role}"),
    ("POST", "/v1/parties/{address}/expel"), ("POST", "/v1/parties/{address}/admit"),
    ("POST", "/v1/platform/pause"), ("POST", "/v1/platform/unpause"),
}


@pytest.fixture(scope="module")
def fuzz_world(tmp_path_factory):
    with open_world(tmp_path_factory.mktemp("gateway-fuzz")) as world:
        # Something for small ids to point at: receivable 1 (token 1, split into token 2), an
        # open offer, a listed and appraised data asset, a stored document.
        issued = world.issue(500_000, maturity_days=60)
        r = world.post(world.tier1, f"/v1/vouchers/{issued['token_id']}/split",
                       {"to": world.tier2.address, "value": "100000"})
        assert r.status_code == 201, r.json()
        r = world.post(world.tier1, "/v1/offers", {
            "token_id": issued["token_id"], "value": "50000", "rate_bps": 800,
            "deadline": world.now() + 5 * DAY, "financier": world.bank.address, "recourse": True})
        assert r.status_code == 201, r.json()
        world.data_asset()
        yield world


@pytest.fixture(scope="module")
def api_schema(fuzz_world):
    # A second app over the world's started gateway: schemathesis's client runs the lifespan
    # again, which must not open a second mirror writer.
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(fuzz_world.settings, gateway=fuzz_world.gateway))


def fuzz(world, strategy, statuses: Counter) -> None:
    """Send `EXAMPLES` cases of one operation drawn from `strategy`, each with real credentials;
    count the response statuses by (method path, status)."""

    @given(case=strategy, who=st.sampled_from(sorted(ROLES)))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=SEED is None, database=None,
              suppress_health_check=list(HealthCheck),
              phases=[Phase.generate])  # no shrinking: every example may mine a transaction
    def run(case, who):
        if (case.method.upper(), case.path) in OPERATOR_ONLY:
            token = OPERATOR_TOKEN
        else:
            token = world.parties[who].api_key
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
        # Mark the credentials as real, as schemathesis's own auth providers do: ignored_auth then
        # probes without them (instead of taking them for generated, invalid ones).
        case._has_explicit_auth = True
        response = case.call_and_validate(checks=CHECKS)
        statuses[(f"{case.method.upper()} {case.path}", response.status_code)] += 1
        if case.path == "/v1/platform/pause" and response.status_code == 200:
            # Keep fuzzing something that can move: unpause at once (through the API). A 200 may
            # also be the replay of an earlier pause (the same Idempotency-Key): then it is
            # unpaused already.
            r = world.client.post("/v1/platform/unpause", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"})
            assert r.status_code == 200 or r.json()["error"] == "ExpectedPause", r.json()

    (seed(int(SEED))(run) if SEED is not None else run)()


def test_every_response_is_documented_and_none_is_a_server_error(api_schema, fuzz_world):
    failures: list[str] = []
    statuses: Counter = Counter()
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        plans = [("examples", st.one_of(api_schema.get_strategies_from_examples(operation)))] \
            if api_schema.get_strategies_from_examples(operation) else []
        plans += [("positive", operation.as_strategy(GenerationMode.POSITIVE)),
                  ("negative", operation.as_strategy(GenerationMode.NEGATIVE))]
        for mode, strategy in plans:
            try:
                fuzz(fuzz_world, strategy, statuses)
            except Unsatisfiable:
                continue  # nothing to negate (an operation without parameters or body)
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001  (schemathesis raises a FailureGroup)
                failures.append(f"{operation.method.upper()} {operation.path} ({mode} data):\n{type(exc).__name__}: {exc}")
    assert operations >= 50, f"only {operations} operations in the OpenAPI document"
    by_status = Counter()
    for (_, status), n in statuses.items():
        by_status[status] += n
    succeeded = {op for (op, status) in statuses if status < 300}
    print(f"\nfuzzed {operations} operations, {sum(statuses.values())} requests, by status: "
          f"{dict(sorted(by_status.items()))}; {len(succeeded)} operations answered 2xx at least once")
    # The credentials are real: the fuzzer got past authentication into most handlers.
    assert len(succeeded) >= operations // 3, f"only these operations ever succeeded: {sorted(succeeded)}"
    assert not failures, f"{len(failures)} operation/mode(s) failed:\n\n" + "\n\n".join(failures)


# What the fuzzer found, kept as plain regression tests (each was a 500 or an undocumented body).

def test_a_body_that_is_not_json_gets_the_error_shape(fuzz_world):
    r = fuzz_world.client.post("/v1/receivables", content=b"\x93U\xefo",
                               headers={**fuzz_world.core.auth, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"] == "BadRequest", r.json()
    r = fuzz_world.client.get("/v1/no-such-thing", headers=fuzz_world.core.auth)
    assert r.status_code == 404 and r.json()["error"] == "NotFound", r.json()


def test_a_raw_transaction_of_odd_length_hex_is_invalid_input(fuzz_world):
    r = fuzz_world.post(fuzz_world.tier1, "/v1/transactions", {"raw_transaction": "0x1"})
    assert r.status_code == 422 and r.json()["error"] == "RequestValidationError", r.json()


def test_offsets_and_filters_beyond_sql_integers_are_invalid_input(fuzz_world):
    for path, params in (("/v1/vouchers", {"offset": 2**63}), ("/v1/receivables", {"offset": 2**63}),
                         ("/v1/vouchers", {"receivable_id": 2**48})):
        r = fuzz_world.get(fuzz_world.tier1, path, **params)
        assert r.status_code == 422 and r.json()["error"] == "RequestValidationError", (path, params, r.json())


def test_audit_and_proof_at_a_block_before_deployment_or_beyond_the_head_are_invalid_input(fuzz_world):
    head = fuzz_world.head()
    for path in ("/v1/audit", "/v1/vouchers/1/proof"):
        for block, words in ((0, "precedes the deployment"), (head + 1_000, "beyond the chain's head")):
            r = fuzz_world.get(fuzz_world.auditor, path, block=block)
            assert r.status_code == 422 and words in r.json()["detail"], (path, block, r.json())
    assert fuzz_world.get(fuzz_world.auditor, "/v1/vouchers/1/proof", block=head).status_code == 200

