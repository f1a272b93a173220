"""Credit lines: granted by financiers to core enterprises, drawn by issuing."""

import pytest

from ledger.exceptions import (
    AccessControlUnauthorizedAccount,
    CreditLineCurrencyDecimals,
    CreditLineInvalidCurrency,
    CreditLineInvalidExpiry,
    CreditLineInvalidLimit,
    CreditLineNotFinancier,
    CreditLineUnauthorizedCaller,
    CreditLineInsufficient,
)
from ledger.deploy import deploy_settlement_token
from ledger.types import Role
from tests.conftest import DAY


def test_a_financier_grants_a_line_to_a_core_enterprise(w, p, led):
    expiry = w.now() + 30 * DAY
    granted = led.grant_credit_line(p.bank2, p.core2, w.cash, 5_000, expiry, 3 * DAY)
    line = led.credit_line(granted.line_id)
    assert (line.financier, line.obligor, line.currency, line.limit, line.used, line.expiry, line.grace_period) == (
        p.bank2.address, p.core2.address, w.cash, 5_000, 0, expiry, 3 * DAY)
    event = granted.receipt.named("CreditLineGranted")[0].args
    assert (event["lineId"], event["limit"], event["gracePeriod"]) == (granted.line_id, 5_000, 3 * DAY)


def test_only_financiers_grant_and_only_to_core_enterprises(w, p, led):
    with pytest.raises(AccessControlUnauthorizedAccount) as info:
        led.grant_credit_line(p.core, p.core, w.cash, 1, w.now() + DAY)
    assert info.value.needed_role == Role.FINANCIER.id
    with pytest.raises(AccessControlUnauthorizedAccount) as info:
        led.grant_credit_line(p.bank, p.tier1, w.cash, 1, w.now() + DAY)
    assert (info.value.account, info.value.needed_role) == (p.tier1.address, Role.CORE_ENTERPRISE.id)


def test_terms_are_checked(w, p, led):
    with pytest.raises(CreditLineInvalidLimit):
        led.grant_credit_line(p.bank, p.core, w.cash, 0, w.now() + DAY)
    with pytest.raises(CreditLineInvalidExpiry):
        led.grant_credit_line(p.bank, p.core, w.cash, 1, w.now() - 1)
    with pytest.raises(CreditLineInvalidCurrency):
        led.grant_credit_line(p.bank, p.core, p.tier1.address, 1, w.now() + DAY)


def test_the_currency_must_count_in_the_vouchers_decimals(w, p, led):
    eighteen = deploy_settlement_token(led.chain, p.operator, decimals=18)
    with pytest.raises(CreditLineCurrencyDecimals) as info:
        led.grant_credit_line(p.bank, p.core, eighteen, 1, w.now() + DAY)
    assert (info.value.expected, info.value.actual) == (2, 18)


def test_the_financier_changes_its_lines_terms(w, p, led):
    w.issue(600)
    led.set_credit_terms(p.bank, w.line_id, 1_000, w.now() + 10 * DAY)
    assert led.credit_available(w.line_id) == 400
    with pytest.raises(CreditLineInsufficient):
        w.issue(401)
    with pytest.raises(CreditLineNotFinancier):
        led.set_credit_terms(p.bank2, w.line_id, 1, w.now() + DAY)


def test_only_the_voucher_contract_draws(w, p, led):
    with pytest.raises(CreditLineUnauthorizedCaller) as info:
        led.chain.transact(p.core, led.credit_lines.functions.draw(w.line_id, p.core.address, w.cash, 1, 1))
    assert info.value.caller == p.core.address


def test_an_expired_line_has_nothing_available(w, p, led):
    w.advance(366 * DAY)
    assert led.credit_available(w.line_id) == 0
