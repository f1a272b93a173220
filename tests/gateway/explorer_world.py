"""The explorer tests' world, built through the API on the gateway tests' `gw` (once per gw):

    receivable R (1,000,000), issued by core to tier1, accepted
    root        tier1                         600,000 after the splits
    ├── a       tier2      400,000 → 250,000 after its split
    │   └── b   tier3      150,000 → 100,000 after the offer split
    │       └── f  bank2    50,000   factored: tier3 offered it, bank2 bought it (with recourse)
    └── c       tier2b     200,000

then core repays 300,000 and tier2 claims its share (75,000 of voucher a). `outsider` is a
supplier with no part in R. `bank` is the financier of R's credit line.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway_world import DAY, GW, Party


@dataclass
class ExplorerWorld:
    gw: GW
    receivable_id: int
    root: int
    a: int  # tier2's piece
    b: int  # tier3's piece
    f: int  # the factored piece (bank2)
    c: int  # tier2b's piece
    tier3: Party
    tier2b: Party
    outsider: Party

    @property
    def tokens(self) -> set[int]:
        return {self.root, self.a, self.b, self.f, self.c}


_built: dict[int, ExplorerWorld] = {}


def _ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.json()
    return response.json()


def explorer_world(gw: GW) -> ExplorerWorld:
    """The world above on `gw` (built on the first call, then reused)."""
    if id(gw) in _built:
        return _built[id(gw)]
    tier3 = gw.register("Tier-3 Castings", ["SUPPLIER_ROLE"])
    tier2b = gw.register("Tier-2 Plastics", ["SUPPLIER_ROLE"])
    outsider = gw.register("Outsider Trading", ["SUPPLIER_ROLE"])
    issued = gw.issue(1_000_000)
    rid, root = issued["receivable_id"], issued["token_id"]
    a = _ok(gw.post(gw.tier1, f"/v1/vouchers/{root}/split", {"to": gw.tier2.address, "value": "400000"}), 201)
    c = _ok(gw.post(gw.tier1, f"/v1/vouchers/{root}/split", {"to": tier2b.address, "value": "200000"}), 201)
    b = _ok(gw.post(gw.tier2, f"/v1/vouchers/{a['token_id']}/split", {"to": tier3.address, "value": "150000"}), 201)
    offer = _ok(gw.post(tier3, "/v1/offers", {
        "token_id": b["token_id"], "value": "50000", "rate_bps": 800, "deadline": gw.now() + 5 * DAY,
        "financier": gw.bank2.address, "recourse": True}), 201)
    assert offer["token_id"] != b["token_id"], "a part offered is split off into its own voucher"
    _ok(gw.post(gw.bank2, f"/v1/offers/{offer['offer_id']}/accept"))
    _ok(gw.post(gw.core, f"/v1/receivables/{rid}/repayments", {"amount": "300000"}))
    _ok(gw.post(gw.tier2, f"/v1/vouchers/{a['token_id']}/claim"))
    world = ExplorerWorld(gw, rid, root, a["token_id"], b["token_id"], offer["token_id"], c["token_id"],
                          tier3, tier2b, outsider)
    _built[id(gw)] = world
    return world
