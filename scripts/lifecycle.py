"""A receivable's life in eth-brownie, on the same contracts as ledger.demo (a thin walk-through).

    source .venv-brownie/bin/activate && brownie run scripts/lifecycle.py --network anvil

Admit the parties, grant a credit line, issue a receivable, accept it, split it to tier 2 and
tier 3, factor a piece (offer + accept: delivery versus payment), repay, and let every holder
claim; then check that value was conserved. Amounts are in cents (valueDecimals 2).
"""

from brownie import accounts, chain
from eth_utils import keccak

from ledger.types import Role
from scripts.deploy import deploy

DAY = 86_400
FACE = 1_000_000_00
# Fields of ReceivableVoucher.voucherOf (IReceivableVoucher.Voucher) and Factoring.offerOf.
HOLDER, VALUE, PAID = 0, 3, 4
OFFER_PRICE = 9


def money(units):
    return f"{units / 100:,.2f}"


def main():
    operator, core, tier1, tier2, tier3, bank = accounts[:6]
    names = {operator: "Operator", core: "Core Enterprise", tier1: "Tier-1", tier2: "Tier-2", tier3: "Tier-3",
             bank: "Bank"}
    steps = iter(range(1, 100))

    def step(text, tx=None):
        print(f"STEP {next(steps):>2}. {text}" + (f"  (block {tx.block_number}, gas {tx.gas_used:,})" if tx else ""))

    c = deploy(operator)
    voucher, lines, factoring, cash = c["ReceivableVoucher"], c["CreditLines"], c["Factoring"], c["SettlementToken"]
    step("Deployed " + ", ".join(f"{name} {contract.address}" for name, contract in c.items()))

    for who, role in ((core, Role.CORE_ENTERPRISE), (tier1, Role.SUPPLIER), (tier2, Role.SUPPLIER),
                      (tier3, Role.SUPPLIER), (bank, Role.FINANCIER)):
        voucher.admit(who, [role.id], {"from": operator})
    for who in (core, bank):
        cash.mint(who, 10_000_000_00, {"from": operator})
    supply = cash.totalSupply()
    step("Operator admits the core enterprise, three tiers of suppliers and a bank; cash minted to core and bank")

    now = chain.time()
    tx = lines.grant(core, cash, 2_000_000_00, now + 365 * DAY, 30 * DAY, {"from": bank})
    line_id = tx.events["CreditLineGranted"]["lineId"]
    step(f"Bank grants the core enterprise credit line #{line_id}: limit {money(2_000_000_00)}", tx)

    tx = voucher.issue(tier1, line_id, cash, FACE, now + 90 * DAY, keccak(text="PO-2026-0117/DN-88213/INV-5531"),
                       {"from": core})
    receivable_id, root = tx.events["ReceivableIssued"]["receivableId"], tx.events["ReceivableIssued"]["tokenId"]
    step(f"Core enterprise issues receivable #{receivable_id} (voucher #{root}) of {money(FACE)} to Tier-1", tx)
    step("Tier-1 accepts it", voucher.accept(receivable_id, {"from": tier1}))

    split = voucher.transferFrom["uint256,address,uint256"]

    def pay(holder, token_id, to, value):
        tx = split(token_id, to, value, {"from": holder})
        new = next(e["_toTokenId"] for e in tx.events["TransferValue"] if e["_fromTokenId"] == token_id)
        step(f"{names[holder]} pays {names[to]} {money(value)}: split voucher #{token_id} -> #{new}", tx)
        return new

    to_tier2 = pay(tier1, root, tier2, 400_000_00)
    to_tier3 = pay(tier2, to_tier2, tier3, 150_000_00)

    tx = factoring.offer(to_tier2, 100_000_00, bank, 1_000, True, chain.time() + 5 * DAY, {"from": tier2})
    offer_id, locked = tx.events["OfferCreated"]["offerId"], tx.events["OfferCreated"]["tokenId"]
    step(f"Tier-2 offers {money(100_000_00)} of voucher #{to_tier2} to the bank at 10 %/year with recourse: "
         f"offer #{offer_id}, locked in voucher #{locked}", tx)
    # The bank's limits: the price it was quoted and the unpaid value it saw (nothing claimed yet).
    quoted = factoring.quote(offer_id)
    cash.approve(factoring, quoted, {"from": bank})
    tx = factoring.accept(offer_id, quoted, 100_000_00, {"from": bank})
    price = tx.events["Factored"]["price"]
    assert price == factoring.offerOf(offer_id)[OFFER_PRICE] and voucher.ownerOf(locked) == bank
    step(f"Bank accepts: pays Tier-2 {money(price)} for {money(100_000_00)} and receives voucher #{locked} "
         "in the same transaction", tx)

    cash.approve(voucher, FACE, {"from": core})
    step(f"Core enterprise repays {money(400_000_00)}", voucher.repay(receivable_id, 400_000_00, {"from": core}))
    step(f"Core enterprise repays {money(600_000_00)}: settled",
         voucher.repay(receivable_id, 600_000_00, {"from": core}))

    tokens = [root, to_tier2, to_tier3, locked]
    claimed = 0
    for token_id in tokens:
        holder = voucher.voucherOf(token_id)[HOLDER]
        tx = voucher.claim(token_id, {"from": holder})
        amount = tx.events["VoucherClaimed"]["amount"]
        claimed += amount
        step(f"{names[accounts.at(holder)]} claims {money(amount)} on voucher #{token_id}", tx)

    print("Vouchers:")
    values = 0
    for token_id in tokens:
        v = voucher.voucherOf(token_id)
        values += v[VALUE]
        print(f"  #{token_id:<3} {names[accounts.at(v[HOLDER])]:<16} value {money(v[VALUE]):>14}  paid out {money(v[PAID]):>14}")
    print("Cash:")
    for who in (core, tier1, tier2, tier3, bank):
        print(f"  {names[who]:<16} {money(cash.balanceOf(who)):>16}")
    assert values == FACE, f"voucher values add up to {values}, not the face value {FACE}"
    assert claimed == FACE, f"claims add up to {claimed}, not the face value {FACE}"
    assert cash.totalSupply() == supply and cash.balanceOf(voucher) == 0
    print(f"Value conserved: vouchers {money(values)} = claims {money(claimed)} = face value {money(FACE)}; "
          f"cash supply unchanged at {money(supply)}")
