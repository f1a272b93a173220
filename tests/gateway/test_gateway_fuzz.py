"""API fuzzing from the gateway's own OpenAPI document (schemathesis), on a world of its own
(fuzz_support.py: its chain, mirror and gateway, seeded with deep states; on SQLite and on
PostgreSQL), with real credentials. Every response must be documented (status code, content
type, body schema), none may be a 5xx, after each 2xx the same request without credentials and
with made-up ones must be refused (schemathesis's ignored_auth), and after every 4xx nothing may
have been mined and no ERC-20 allowance or balance of any party or contract may have moved.

- test_every_response_is_documented_and_none_is_a_server_error (SQLite): each operation alone,
  from the schema's examples, valid and invalid data (GATEWAY_FUZZ_EXAMPLES per kind, default 10).
- test_stateful_scenarios_follow_the_links (SQLite and PostgreSQL): a Hypothesis state machine
  whose steps either send a fresh generated request to any operation, or follow one of the OpenAPI
  links (gateway/api/links.py) from an earlier 2xx: a created receivable's id to accept, split,
  offer, repay; an offer's id to accept, cancel, recourse; and so on. Most of the time the request
  is sent by the party entitled to it, with members' addresses, amounts that fit and times ahead
  (fuzz_support.Chooser); otherwise by a random party with the generated values.
  GATEWAY_FUZZ_SCENARIOS (default 12) scenarios of GATEWAY_FUZZ_STEPS (default 40) steps.
- test_hostile_bodies_*: bodies no generator makes (deep nesting, huge numbers, duplicate keys,
  bytes that are not UTF-8, odd content types, non-Latin-1 file names).

The examples are the same every run unless GATEWAY_FUZZ_SEED is set. A larger run:
`GATEWAY_FUZZ_EXAMPLES=40 GATEWAY_FUZZ_SCENARIOS=100 GATEWAY_FUZZ_SEED=7 bash run.sh test tests/gateway/test_gateway_fuzz.py -s`
(`-s` prints how many operations answered 2xx, by status).
"""

from __future__ import annotations

import os
import random
from collections import Counter, defaultdict

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.core.transforms import UNRESOLVABLE
from schemathesis.generation.stateful.state_machine import StepOutput
from schemathesis.specs.openapi.checks import (content_type_conformance, ignored_auth, response_headers_conformance,
                                               response_schema_conformance, status_code_conformance)
from schemathesis.specs.openapi.expressions import MultiMatch
from schemathesis.specs.openapi.stateful.links import OpenApiLink

from fuzz_support import OPERATOR_ONLY, Chooser, Ledger, fuzz_world, refusal_effects
from gateway.main import create_app
from gateway_world import OPERATOR_TOKEN, ROLES

EXAMPLES = int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "10"))
SCENARIOS = int(os.environ.get("GATEWAY_FUZZ_SCENARIOS", "12"))
STEPS = int(os.environ.get("GATEWAY_FUZZ_STEPS", "40"))
#: Unset: the same examples every run (derandomized, so CI is repeatable); a number: other ones.
SEED = os.environ.get("GATEWAY_FUZZ_SEED")
# ignored_auth: after a 2xx, the same request without credentials and with made-up ones must be
# refused (401/403), so no operation that declares the bearer scheme answers without it.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, ignored_auth]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, tmp_path_factory):
    """The fuzzer's world (fuzz_support.fuzz_world) on SQLite, then on PostgreSQL
    ($LEDGER_TEST_DATABASE_URL; skipped without it, failed in CI without it)."""
    with fuzz_world(tmp_path_factory.mktemp(f"gateway-fuzz-{request.param}"), request.param) as w:
        yield w


@pytest.fixture(scope="module")
def api_schema(world):
    # A second app over the world's started gateway: schemathesis's client runs the lifespan
    # again, which must not open a second mirror writer.
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(world.settings, gateway=world.gateway))


def _unpause_after(world, case, response, statuses: Counter) -> None:
    """Keep fuzzing something that can move: unpause at once (through the API, counted) after a
    pause. A 200 may also be the replay of an earlier pause (the same Idempotency-Key): then it is
    unpaused already."""
    if case.path == "/v1/platform/pause" and response.status_code == 200:
        r = world.client.post("/v1/platform/unpause", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"})
        assert r.status_code == 200 or r.json()["error"] == "ExpectedPause", r.json()
        statuses[("POST /v1/platform/unpause", r.status_code)] += 1
    # And keep the world's parties members with their roles: re-admit one expelled, grant back a
    # role revoked (through the API, counted).
    party = next((name for name, p in world.parties.items()
                  if p.address.lower() == str((case.path_parameters or {}).get("address", "")).lower()), None)
    if party is None or not 200 <= response.status_code < 300:
        return
    operator = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    if case.path == "/v1/parties/{address}/expel":
        r = world.client.post(f"/v1/parties/{world.parties[party].address}/admit",
                              json=[{"role": role} for role in ROLES[party]], headers=operator)
        # 409: a replayed expulsion (the same Idempotency-Key) of a party admitted again since.
        assert r.status_code in (200, 409), r.json()
        statuses[("POST /v1/parties/{address}/admit", r.status_code)] += 1
    elif case.path == "/v1/parties/{address}/roles/{role}" and case.method.upper() == "DELETE":
        for role in ROLES[party]:
            r = world.client.post(f"/v1/parties/{world.parties[party].address}/roles", json={"role": role},
                                  headers=operator)
            assert r.status_code == 200, r.json()
            statuses[("POST /v1/parties/{address}/roles", r.status_code)] += 1


def _send(world, ledger: Ledger, case, token: str, statuses: Counter):
    """Send `case` with `token`; check the response (CHECKS) and, for a 4xx, that the ledger did
    not move. Raises what failed; counts the status by (method path, status)."""
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
    # Mark the credentials as real, as schemathesis's own auth providers do: ignored_auth then
    # probes without them (instead of taking them for generated, invalid ones).
    case._has_explicit_auth = True
    method = case.method.upper()
    before = ledger.effects()
    response = case.call()
    statuses[(f"{method} {case.path}", response.status_code)] += 1
    if response.status_code >= 400:
        try:
            REFUSALS[f"{method} {case.path}"][response.json().get("error")] += 1
        except Exception:  # noqa: BLE001  (not JSON: the checks below say so)
            pass
    if 400 <= response.status_code < 500:
        changes = refusal_effects(before, ledger.effects())
        assert not changes, (f"{method} {case.formatted_path} answered {response.status_code} "
                             f"{response.text[:300]} but: {changes}")
    try:
        case.validate_response(response, checks=CHECKS)
    finally:
        _unpause_after(world, case, response, statuses)
    return response


#: The error names of refusals by operation (printed for the operations that never answered 2xx).
REFUSALS: defaultdict[str, Counter] = defaultdict(Counter)


def _report(name: str, operations: int, statuses: Counter) -> set[str]:
    """Print what answered what (and why the operations that never answered 2xx were refused)."""
    by_status = Counter()
    for (_, status), n in statuses.items():
        by_status[status] += n
    succeeded = {op for (op, status) in statuses if status < 300}
    print(f"\n{name}: {operations} operations, {sum(statuses.values())} requests, by status: "
          f"{dict(sorted(by_status.items()))}; {len(succeeded)} operations answered 2xx at least once")
    missing = sorted({op for (op, _) in statuses} - succeeded)
    print(f"{name}: never 2xx: " + "; ".join(f"{op} {dict(REFUSALS[op].most_common(3))}" for op in missing))
    return succeeded


# -- each operation alone ---------------------------------------------------------------------------


def fuzz(world, ledger, strategy, statuses: Counter, failures: list[str], mode: str) -> None:
    """Send `EXAMPLES` cases of one operation drawn from `strategy`, each with real credentials;
    what fails is added to `failures` (not raised: Hypothesis would replay the example on a
    chain that has moved on, and report a FlakyFailure instead of the failure)."""

    @given(case=strategy, who=st.sampled_from(sorted(ROLES)))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=SEED is None, database=None,
              suppress_health_check=list(HealthCheck),
              phases=[Phase.generate])  # no shrinking: every example may mine a transaction
    def run(case, who):
        token = OPERATOR_TOKEN if (case.method.upper(), case.path) in OPERATOR_ONLY else world.parties[who].api_key
        try:
            _send(world, ledger, case, token, statuses)
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001  (schemathesis raises a FailureGroup)
            failures.append(f"{case.method.upper()} {case.path} ({mode} data):\n{type(exc).__name__}: {exc}")

    (seed(int(SEED))(run) if SEED is not None else run)()


@pytest.mark.parametrize("world", ["sqlite"], indirect=True)
def test_every_response_is_documented_and_none_is_a_server_error(api_schema, world):
    failures: list[str] = []
    statuses: Counter = Counter()
    REFUSALS.clear()
    ledger = Ledger(world)
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
                fuzz(world, ledger, strategy, statuses, failures, mode)
            except Unsatisfiable:
                continue  # nothing to negate (an operation without parameters or body)
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001  (schemathesis raises a FailureGroup)
                failures.append(f"{operation.method.upper()} {operation.path} ({mode} data):\n{type(exc).__name__}: {exc}")
    assert operations >= 50, f"only {operations} operations in the OpenAPI document"
    succeeded = _report("each operation alone", operations, statuses)
    # The credentials are real: the fuzzer got past authentication into most handlers.
    assert len(succeeded) >= operations // 3, f"only these operations ever succeeded: {sorted(succeeded)}"
    assert not failures, f"{len(failures)} operation/mode(s) failed:\n\n" + "\n\n".join(failures)


# -- stateful: scenarios that follow the OpenAPI links -----------------------------------------------


def _links_of(api_schema, operations) -> dict[str, list[OpenApiLink]]:
    """Every link of the document, by its source operation's label."""
    out: dict[str, list[OpenApiLink]] = {}
    cache: dict = {}
    for operation in operations:
        for status, response in operation.responses.items():
            for name, definition in response.iter_links():
                out.setdefault(operation.label, []).append(OpenApiLink(name, status, definition, operation, cache))
    return out


def _value(extracted):
    if not isinstance(extracted.value, Ok):
        return UNRESOLVABLE
    value = extracted.value.ok()
    return value.values if isinstance(value, MultiMatch) else value


def _can_negate(operation) -> bool:
    return any(True for _ in operation.iter_parameters()) or bool(list(operation.body))


def scenario_machine(world, api_schema, statuses: Counter, failures: dict[str, str]):
    operations = [r.ok() for r in api_schema.get_all_operations()]
    by_label = {op.label: op for op in operations}
    links = _links_of(api_schema, operations)
    strategies = {op.label: {GenerationMode.POSITIVE: op.as_strategy(GenerationMode.POSITIVE)} for op in operations}
    for op in operations:
        if _can_negate(op):
            strategies[op.label][GenerationMode.NEGATIVE] = op.as_strategy(GenerationMode.NEGATIVE)
    ledger = Ledger(world)

    class Scenario(RuleBasedStateMachine):
        """One scenario: requests to any operation, fresh or following links from earlier 2xx
        answers of the same scenario (a rule per operation, added below)."""

        def __init__(self):
            super().__init__()
            self.outputs: list[tuple[StepOutput, list[OpenApiLink]]] = []

        def _case(self, data, label: str):
            modes = strategies[label]
            negative = GenerationMode.NEGATIVE in modes and data.draw(st.integers(0, 99), label="mode") < 15
            return data.draw(modes[GenerationMode.NEGATIVE if negative else GenerationMode.POSITIVE], label=label)

        def _send(self, data, rnd: random.Random, case, *, linked: bool) -> None:
            chooser = Chooser(world, rnd, realism_ids=not linked)
            params = case.path_parameters if case.path_parameters is not None else {}
            token, _ = chooser.prepare(case.method.upper(), case.path, params, case.body, case.headers, case.query)
            key = f"{case.method.upper()} {case.path}"
            try:
                response = _send(world, ledger, case, token, statuses)
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001  (a FailureGroup, an AssertionError)
                failures.setdefault(f"{key}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}",
                                    f"{key}\n{type(exc).__name__}: {exc}")
                return
            usable = [link for link in links.get(case.operation.label, ())
                      if link.status_code == str(response.status_code)]
            if usable:
                self.outputs.append((StepOutput(response, case), usable))

        def _step(self, data, label: str) -> None:
            """One request to `label`: following a link from an earlier 2xx of this scenario that
            leads here (most of the time, when there is one), or fresh."""
            # Choices that depend on what the gateway answered (earlier outputs, mirror rows)
            # come from `rnd`, not from Hypothesis draws: the chain is not reset between
            # scenarios, so the same draws meet other answers, which Hypothesis would take for
            # flakiness. Each rule draws the same way whatever happened before.
            rnd = random.Random(data.draw(st.integers(0, 2**64 - 1), label="seed"))
            case = self._case(data, label)
            leads_here = [(output, link) for output, usable in self.outputs for link in usable
                          if link.target.label == label]
            if not leads_here or rnd.random() < 0.25:
                return self._send(data, rnd, case, linked=False)
            output, link = rnd.choice(leads_here)
            transition = link.extract(output)
            for container, values in transition.parameters.items():
                target = getattr(case, container, None)
                if target is None:
                    target = {}
                    setattr(case, container, target)
                for name, extracted in values.items():
                    value = _value(extracted)
                    if isinstance(value, list):
                        value = rnd.choice(value) if value else UNRESOLVABLE
                    if value is not UNRESOLVABLE and value is not None:
                        target[name] = value
            if transition.request_body is not None and isinstance(case.body, dict):
                fields = _value(transition.request_body)
                if isinstance(fields, dict):
                    for name, value in fields.items():
                        if isinstance(value, MultiMatch):
                            value = rnd.choice(value.values) if value.values else None
                        if value is not UNRESOLVABLE and value is not None:
                            case.body[name] = value
            self._send(data, rnd, case, linked=True)

    # One rule per operation (no preconditions: the rules Hypothesis chooses from never depend
    # on what the gateway answered).
    def make_rule(label: str):
        @rule(data=st.data())
        def step(self, data):
            self._step(data, label)
        step.__name__ = "step_" + "".join(c if c.isalnum() else "_" for c in label)
        return step

    for label in sorted(by_label):
        rule_ = make_rule(label)
        setattr(Scenario, rule_.__name__, rule_)

    return Scenario, len(operations)


def test_stateful_scenarios_follow_the_links_and_refusals_move_nothing(api_schema, world):
    statuses: Counter = Counter()
    failures: dict[str, str] = {}
    REFUSALS.clear()
    machine, operations = scenario_machine(world, api_schema, statuses, failures)
    run_settings = settings(max_examples=SCENARIOS, stateful_step_count=STEPS, deadline=None,
                            derandomize=SEED is None, database=None, phases=[Phase.generate],
                            suppress_health_check=list(HealthCheck))
    if SEED is not None:
        machine = seed(int(SEED))(machine)
    run_state_machine_as_test(machine, settings=run_settings)
    succeeded = _report(f"stateful ({world.gateway.engine.dialect.name})", operations, statuses)
    assert len(succeeded) >= operations * 2 // 3, f"only these operations ever succeeded: {sorted(succeeded)}"
    assert not failures, f"{len(failures)} distinct failure(s):\n\n" + "\n\n".join(failures.values())


# What the fuzzer found, kept as plain regression tests (each was a 500 or an undocumented body).

def test_a_body_that_is_not_json_gets_the_error_shape(world):
    r = world.client.post("/v1/receivables", content=b"\x93U\xefo",
                               headers={**world.core.auth, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"] == "BadRequest", r.json()
    r = world.client.get("/v1/no-such-thing", headers=world.core.auth)
    assert r.status_code == 404 and r.json()["error"] == "NotFound", r.json()


def test_a_raw_transaction_of_odd_length_hex_is_invalid_input(world):
    r = world.post(world.tier1, "/v1/transactions", {"raw_transaction": "0x1"})
    assert r.status_code == 422 and r.json()["error"] == "RequestValidationError", r.json()


def test_offsets_and_filters_beyond_sql_integers_are_invalid_input(world):
    for path, params in (("/v1/vouchers", {"offset": 2**63}), ("/v1/receivables", {"offset": 2**63}),
                         ("/v1/vouchers", {"receivable_id": 2**48})):
        r = world.get(world.tier1, path, **params)
        assert r.status_code == 422 and r.json()["error"] == "RequestValidationError", (path, params, r.json())


def test_audit_and_proof_at_a_block_before_deployment_or_beyond_the_head_are_invalid_input(world):
    head = world.head()
    for path in ("/v1/audit", "/v1/vouchers/1/proof"):
        for block, words in ((0, "precedes the deployment"), (head + 1_000, "beyond the chain's head")):
            r = world.get(world.auditor, path, block=block)
            assert r.status_code == 422 and words in r.json()["detail"], (path, block, r.json())
    assert world.get(world.auditor, "/v1/vouchers/1/proof", block=head).status_code == 200



# -- hostile bodies -----------------------------------------------------------------------------------
#
# What no generator sends: bodies that attack the parser (nesting, numbers, encodings, content
# types, duplicate keys) and uploads with file names outside Latin-1. Each answer must be a
# status the operation documents with the API's error shape (or the success it documents), the
# gateway must keep answering, and nothing may be mined or move.
#
# Issue 14's defects here (deep nesting, duplicate keys, true and 1.0 as amounts, the 413's shape,
# file names beyond Latin-1, UTF-16 bodies) were strict expected failures until the fixes landed.

import subprocess  # noqa: E402
import sys  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

DEPTH = 100_000
ERROR_STATUSES = {400, 401, 403, 404, 409, 413, 415, 422}


@dataclass
class Hostile:
    """One hostile request: `who` sends it (a role of gateway_world.ROLES, None: nobody) to
    `path` ({token} is the world's voucher 1, held by tier1) with `content` and `headers`."""

    name: str
    path: str
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    who: str | None = "tier1"
    files: dict | None = None
    method: str = "POST"


def _json(text: str) -> bytes:
    return text.encode()


SPLIT = "/v1/vouchers/1/split"
#: Stands for the world's tier2 (a member): the bodies are valid but for their hostile part.
TO = "0x2222222222222222222222222222222222222222"

HOSTILE = [
    Hostile("a 1,000-deep array", SPLIT, b"[" * 1000 + b"]" * 1000),
    Hostile("a 1,000-deep object", SPLIT, b'{"a":' * 1000 + b"1" + b"}" * 1000),
    Hostile("a value of 400 digits", SPLIT, _json(f'{{"to": "{TO}", "value": {"9" * 400}}}')),
    Hostile("a value of 5,000 digits", SPLIT, _json(f'{{"to": "{TO}", "value": {"9" * 5000}}}')),
    Hostile("a value string of 100,000 digits", SPLIT, _json(f'{{"to": "{TO}", "value": "{"9" * 100_000}"}}')),
    Hostile("a value of 1e400", SPLIT, _json(f'{{"to": "{TO}", "value": 1e400}}')),
    Hostile("a value of NaN", SPLIT, _json(f'{{"to": "{TO}", "value": NaN}}')),
    Hostile("a value of -Infinity", SPLIT, _json(f'{{"to": "{TO}", "value": -Infinity}}')),
    Hostile("a value of 2^256", SPLIT, _json(f'{{"to": "{TO}", "value": "{2**256}"}}')),
    Hostile("a negative value", SPLIT, _json(f'{{"to": "{TO}", "value": -1}}')),
    Hostile("bytes that are not UTF-8", SPLIT, b'{"to": "\xff\xfe\xfd", "value": "1"}'),
    Hostile("a lone surrogate escape", SPLIT, _json(f'{{"to": "{TO}\\ud800", "value": "1"}}')),
    Hostile("UTF-16 with a byte order mark", SPLIT, f'{{"to": "{TO}", "value": "1"}}'.encode("utf-16")),
    Hostile("Latin-1 bytes declared as such", SPLIT, '{"to": "é", "value": "1"}'.encode("latin-1"),
            {"Content-Type": "application/json; charset=latin-1"}),
    Hostile("an empty body", SPLIT, b""),
    Hostile("JSON null", SPLIT, b"null"),
    Hostile("a top-level string", SPLIT, b'"split"'),
    Hostile("a top-level number", SPLIT, b"1"),
    Hostile("trailing garbage", SPLIT, _json(f'{{"to": "{TO}", "value": "1"}} trailing')),
    Hostile("text/plain", SPLIT, _json(f'{{"to": "{TO}", "value": "1"}}'), {"Content-Type": "text/plain"}),
    Hostile("no content type", SPLIT, _json(f'{{"to": "{TO}", "value": "1"}}'), {}),
    Hostile("form-encoded", SPLIT, b"to=0x00&value=1", {"Content-Type": "application/x-www-form-urlencoded"}),
    Hostile("multipart to a JSON operation", SPLIT, None, {}, files={"file": ("a.json", b"{}", "application/json")}),
    Hostile("a content type of 10,000 characters", SPLIT, b"{}",
            {"Content-Type": "application/json; x=" + "y" * 10_000}),
    Hostile("application/xml", "/v1/receivables", b"<receivable/>", {"Content-Type": "application/xml"}, who="core"),
    Hostile("a raw transaction of 200,000 hex digits", "/v1/transactions",
            _json(f'{{"raw_transaction": "0x{"ab" * 100_000}"}}')),
    Hostile("an unauthenticated 1,000-deep array", SPLIT, b"[" * 1000 + b"]" * 1000, who=None),
    Hostile("a document upload without its file field", "/v1/documents", None, {},
            files={"other": ("a.pdf", b"x", "application/pdf")}),
    Hostile("a document upload as JSON", "/v1/documents", b'{"file": "x"}'),
    Hostile("a duplicate key", SPLIT, _json(f'{{"to": "{TO}", "value": "1", "value": "2"}}')),
    Hostile("a value of true", SPLIT, _json(f'{{"to": "{TO}", "value": true}}')),
    Hostile("a value of 1.0", SPLIT, _json(f'{{"to": "{TO}", "value": 1.0}}')),
    Hostile("a body beyond the size limit", SPLIT, b"[" + b"0," * (11 * 1024 * 1024) + b"0]"),
]


def _documented(api_schema, method: str, path_template: str) -> set[int]:
    operation = api_schema.find_operation_by_label(f"{method} {path_template}")
    return {int(s) for s in operation.responses.status_codes if s.isdigit()}


def _template(path: str) -> str:
    parts = path.split("/")
    names = {"vouchers": "{token_id}", "receivables": "{receivable_id}", "offers": "{offer_id}"}
    return "/".join(names.get(parts[i - 1], p) if p.isdigit() else p for i, p in enumerate(parts))


def _assert_refused_in_shape(world, api_schema, method: str, path: str, response) -> None:
    documented = _documented(api_schema, method, _template(path))
    assert response.status_code in ERROR_STATUSES & documented, (
        f"{response.status_code} is not a documented refusal of {method} {path}: {response.text[:300]}")
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and isinstance(body.get("detail"), str), body


@pytest.fixture(scope="module")
def hostile_parties(world) -> dict:
    """Parties of the hostile tests' own, with a voucher to split: the fuzz tests before them
    may have moved the seeded vouchers, changed the seeded lines' terms or expelled someone, and a
    hostile body must be refused for what is hostile in it, not for a voucher that is gone."""
    tag = os.urandom(3).hex()
    parties = {role: world.register(f"hostile-{role}-{tag}", roles) for role, roles in (
        ("core", ["CORE_ENTERPRISE_ROLE"]), ("tier1", ["SUPPLIER_ROLE"]), ("tier2", ["SUPPLIER_ROLE"]),
        ("bank", ["FINANCIER_ROLE"]))}
    r = world.post(parties["bank"], "/v1/credit-lines", {
        "obligor": parties["core"].address, "currency": world.cash, "limit": "1000000000",
        "expiry": world.now() + 3650 * 86_400, "grace_period": 0})
    assert r.status_code == 201, r.json()
    line_id = r.json()["line_id"]

    def voucher() -> int:
        r = world.post(parties["core"], "/v1/receivables", {
            "supplier": parties["tier1"].address, "line_id": line_id, "face_value": "100000",
            "maturity": world.now() + 90 * 86_400, "document_hash": world.doc()})
        assert r.status_code == 201, r.json()
        issued = r.json()
        r = world.post(parties["tier1"], f"/v1/receivables/{issued['receivable_id']}/accept")
        assert r.status_code == 200, r.json()
        return issued["token_id"]

    return {**parties, "voucher": voucher}


def _hostile_request(world, hostile_parties, hostile: Hostile, content: bytes | None) -> tuple[str, dict, bytes | None]:
    """The path, headers and body to send: SPLIT on a fresh voucher of the hostile tier1, TO its tier2."""
    path = hostile.path
    if path == SPLIT:
        path = f"/v1/vouchers/{hostile_parties['voucher']()}/split"
    headers = dict(hostile.headers)
    if hostile.who is not None:
        headers.update(hostile_parties.get(hostile.who, world.parties.get(hostile.who)).auth)
    if content is not None:
        to = hostile_parties["tier2"].address
        content = content.replace(TO.encode(), to.encode()).replace(TO.encode("utf-16")[2:], to.encode("utf-16")[2:])
    return path, headers, content


def test_the_hostile_bodies_template_is_valid_without_its_hostile_part(world, hostile_parties):
    """The control: the body the hostile cases spoil is split as it stands, so a refusal below is
    the hostile part's doing."""
    control = Hostile("control", SPLIT, _json(f'{{"to": "{TO}", "value": "1"}}'))
    path, headers, content = _hostile_request(world, hostile_parties, control, control.content)
    r = world.client.post(path, content=content, headers=headers)
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda h: h.name)
def test_hostile_bodies_are_refused_in_the_error_shape_and_move_nothing(world, api_schema, hostile_parties,
                                                                        hostile: Hostile):
    ledger = Ledger(world)
    path, headers, content = _hostile_request(world, hostile_parties, hostile, hostile.content)
    before = ledger.effects()
    response = world.client.request(hostile.method, path, content=content, files=hostile.files, headers=headers)
    assert before.changes(ledger.effects()) == [], response.text[:300]
    _assert_refused_in_shape(world, api_schema, hostile.method, path, response)
    assert world.client.get("/health").status_code == 200


#: A child process sends the deep-nesting crash body of issue 14 item 1 to an app of its own (no
#: chain: the body is parsed before any dependency runs) and prints the status. Until the fix
#: lands the child segfaults; the test process itself must never parse that body.
_PROBE = """
import sys
from fastapi.testclient import TestClient
import eth_account  # noqa: F401  (imports py_ecc, which raises the recursion limit: the crash's cause)
from gateway.main import create_app
body = sys.stdin.buffer.read()
with TestClient(create_app(gateway=object()), raise_server_exceptions=False) as client:
    r = client.post("/v1/vouchers/1/split", content=body, headers={"Content-Type": "application/json"})
    print(r.status_code, r.headers.get("content-type"), r.text[:200])
"""


def _probe(body: bytes) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _PROBE], input=body, capture_output=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])


DEEP = [("100,000 '[' then ']'", b"[" * DEPTH + b"]" * DEPTH),
        ("100,000 nested objects", b'{"a":' * DEPTH + b"1" + b"}" * DEPTH),
        ("100,000 '[' unclosed", b"[" * DEPTH)]


@pytest.mark.parametrize("name,body", DEEP, ids=[n for n, _ in DEEP])
def test_hostile_deep_nesting_is_refused_and_the_gateway_keeps_serving(world, api_schema, name, body):
    probe = _probe(body)
    assert probe.returncode == 0, f"the probe process died ({probe.returncode}): {probe.stderr.decode()[-500:]}"
    status = int(probe.stdout.split()[0])
    assert 400 <= status < 500, probe.stdout
    # Only now that it cannot crash: the real gateway, authenticated and not.
    ledger = Ledger(world)
    before = ledger.effects()
    for headers in ({}, world.tier1.auth):
        response = world.client.post(SPLIT, content=body, headers={**headers, "Content-Type": "application/json"})
        _assert_refused_in_shape(world, api_schema, "POST", SPLIT, response)
    assert before.changes(ledger.effects()) == []
    assert world.client.get("/health").status_code == 200


def _named(filename: str):
    """A file name (beyond ASCII it was a 500 or a mangled header before issue 14 item 4's fix:
    RFC 6266 filename*=UTF-8'' with an ASCII fallback)."""
    return filename


NAMES = ["发票-№5.pdf", "отчёт.txt", "قائمة.pdf", "emoji-🧾.pdf", 'quote"and\\back;.pdf', "é-latin-1.pdf", "a" * 300 + ".pdf"]


@pytest.mark.parametrize("filename", [_named(n) for n in NAMES])
def test_an_upload_named_outside_latin_1_is_stored_and_read_back(world, filename):
    content = f"INVOICE {filename} {os.urandom(8).hex()}".encode()
    r = world.client.post("/v1/documents", files={"file": (filename, content, "application/pdf")},
                          headers=world.core.auth)
    assert r.status_code == 201, r.text
    document_hash = r.json()["document_hash"]
    r = world.client.get(f"/v1/documents/{document_hash}", headers=world.core.auth)
    assert r.status_code == 200 and r.content == content, r.text[:300]
    assert r.headers["content-disposition"].startswith("attachment"), r.headers


@pytest.mark.parametrize("filename", [_named(n) for n in NAMES[:2]])
def test_an_appraisal_report_named_outside_latin_1_is_stored_and_read_back(world, filename):
    asset = world.data_asset(appraise=False, list_=False)
    content = f"REPORT {filename} {os.urandom(8).hex()}".encode()
    r = world.client.post(f"/v1/data-assets/{asset}/appraisal-reports",
                          files={"file": (filename, content, "text/plain")}, headers=world.appraiser.auth)
    assert r.status_code == 201, r.text
    r = world.client.get(f"/v1/data-assets/{asset}/appraisal-reports/{r.json()['report_hash']}",
                         headers=world.core.auth)
    assert r.status_code == 200 and r.content == content, r.text[:300]
