"""The data-asset events (registration, appraisal, listing, pledge, release, foreclosure) and the
credit lines' collateral and advance rate land in the right tables, equal the chain, roll back
with a reorg, and come to a database that never followed the registry only by a rebuild."""

from __future__ import annotations

import os

import pytest
from conftest import DAY, GRACE, dev_account
from eth_abi import encode
from eth_utils import keccak
from mirror_checks import assert_mirror_matches_chain, dump
from sqlalchemy import func, select, text

from ledger.compiler import compile_project
from ledger.mirror import (
    DEPLOYMENT_CONTRACTS,
    Appraisal,
    CreditLine,
    DataAsset,
    EventLog,
    MirrorCursor,
    MirrorHalted,
    MirrorReader,
    Pledge,
    make_engine,
    migrate,
)
from ledger.logs import LogDecoder, raw_hex
from ledger.mirror.follower import contracts_of
from ledger.mirror.handlers import HANDLERS, TIMED
from ledger.mirror.store import Store
from ledger.types import PledgeState, ReceivableState, Role

REGISTRY = "DataAssetRegistry"
RATE = 5_000  # the bank lends half the counted value
LISTING = b"SZDE-0001".ljust(32, b"\0")
#: A URI a member may well send: not ASCII, and with a NUL, which PostgreSQL text cannot hold.
ODD_URI = "ipfs://caf\u00e9/\x00/\u6570\u636e"


def _abi_events(name: str) -> set[tuple[str, str]]:
    return {(name, i["name"]) for i in compile_project()[name].abi if i.get("type") == "event"}


def test_every_data_asset_and_credit_line_event_has_a_handler():
    assert DEPLOYMENT_CONTRACTS["data_assets"] == REGISTRY
    assert _abi_events(REGISTRY) <= set(HANDLERS)
    assert _abi_events("CreditLines") <= set(HANDLERS)  # the advance rate and collateral included
    # The handlers that record a time get their block's timestamp.
    assert {(REGISTRY, n) for n in ("DataAssetRegistered", "DataAssetAppraised", "DataAssetPledged",
                                    "DataAssetReleased", "DataAssetForeclosed")} <= TIMED


def test_a_deployment_without_a_registry_is_followed_without_it(mw):
    from dataclasses import replace

    names = [name for name, _, _ in contracts_of(replace(mw.deployment, data_assets=None))]
    assert names == ["ReceivableVoucher", "CreditLines", "Factoring"]
    assert [name for name, _, _ in contracts_of(mw.deployment)][-1] == REGISTRY


def test_a_string_argument_never_stops_the_decoder():
    """Invalid UTF-8 and NUL in DataAssetRegistered's uri decode (to U+FFFD) rather than raise."""
    abi = compile_project()[REGISTRY].abi
    (registered,) = [i for i in abi if i.get("name") == "DataAssetRegistered"]
    address = "0x" + "ab" * 20
    decoder = LogDecoder([(REGISTRY, address, abi)])
    topic = "0x" + keccak(text="DataAssetRegistered(uint256,address,bytes32,bytes32,string)").hex()
    assert [i["type"] for i in registered["inputs"]] == ["uint256", "address", "bytes32", "bytes32", "string"]
    owner, content = "0x" + "00" * 12 + "cd" * 20, "0x" + "ef" * 32
    raw_uri = b"ipfs://\xff\xfe/\x00/caf\xc3\xa9"
    # encode as bytes: the same layout as a string, with bytes no UTF-8 encoder would write
    data = "0x" + encode(["bytes32", "bytes"], [b"\x11" * 32, raw_uri]).hex()
    event = decoder.decode({
        "address": address, "topics": [topic, "0x" + "00" * 31 + "07", owner, content], "data": data,
        "blockNumber": "0x5", "blockHash": "0x" + "22" * 32, "transactionHash": "0x" + "33" * 32, "logIndex": "0x0",
    })
    assert event.args["assetId"] == 7 and event.args["metadataHash"] == b"\x11" * 32
    assert event.args["uri"] == "ipfs://\ufffd\ufffd/\ufffd/caf\u00e9"
    # ... and keep the bytes, which the mirror stores as data_asset.uri_hex and the audit compares.
    assert event.args["uri"].raw == raw_uri and raw_hex(event.args["uri"]) == "0x" + raw_uri.hex()


# -- the whole life of data assets ---------------------------------------------------------------


def parties(w):
    """Two appraisers and an exchange, admitted; the core enterprise is the data provider."""
    appraiser, appraiser2, exchange = (dev_account(i) for i in (7, 8, 9))
    w.ledger.admit(w.operator, appraiser, [Role.APPRAISER])
    w.ledger.admit(w.operator, appraiser2, [Role.APPRAISER])
    w.ledger.admit(w.operator, exchange, [Role.EXCHANGE])
    return appraiser, appraiser2, exchange


def ready_asset(w, appraiser, exchange, value: int, days: int, uri: str = "ipfs://asset") -> int:
    """A registered, appraised and listed asset of the core enterprise."""
    led = w.ledger
    asset_id = led.register_data_asset(w.core, os.urandom(32), metadata_hash=os.urandom(32), uri=uri).asset_id
    led.appraise(appraiser, asset_id, report_hash=os.urandom(32), value=value, valid_until=w.now() + days * DAY)
    led.list_data_asset(exchange, asset_id, LISTING)
    return asset_id


def default(w, receivable_id: int) -> None:
    w.ledger.mark_overdue(w.tier3, receivable_id)
    w.ledger.declare_default(w.bank, receivable_id)


def every_data_asset_event(w) -> dict[str, int]:
    """Make the contracts emit each data-asset and collateral event; return the ids made."""
    led = w.ledger
    appraiser, appraiser2, exchange = parties(w)
    led.set_advance_rate(w.bank, w.line_id, RATE)                                   # AdvanceRateSet
    led.set_credit_terms(w.bank, w.line_id, 200_000, led.credit_line(w.line_id).expiry)  # TermsChanged

    # A: two appraisals (the lower, shorter one counts), listed, pledged: the line's limit rises.
    a = ready_asset(w, appraiser, exchange, 4_000_000, 180)
    led.appraise(appraiser2, a, report_hash=os.urandom(32), value=3_000_000, valid_until=w.now() + 30 * DAY)
    pledge_a = led.pledge(w.core, a, w.line_id).pledge_id                          # + CollateralChanged
    big = w.issue(1_000_000)  # beyond the base limit of 200,000: drawn on the collateral credit
    bank_token = led.split(w.tier1, big.token_id, w.bank, 500_000).token_id  # the bank bears half

    # B (an odd URI): pledged, appraised again while pledged, then released.
    b = ready_asset(w, appraiser, exchange, 2_000_000, 365, uri=ODD_URI)
    pledge_b = led.pledge(w.core, b, w.line_id).pledge_id
    led.appraise(appraiser2, b, report_hash=os.urandom(32), value=2_500_000, valid_until=w.now() + 365 * DAY)
    led.release(w.bank, b)

    # C: registered only.
    c = led.register_data_asset(w.tier1, os.urandom(32)).asset_id

    # A's counted appraisal expires: anyone recounts; a new appraisal takes the expired slot.
    w.advance(31 * DAY)
    led.sync_collateral(w.spare, w.line_id)
    slot = led.appraise(appraiser2, a, report_hash=os.urandom(32), value=3_500_000,
                        valid_until=w.now() + 200 * DAY).slot

    # The big receivable defaults: the bank forecloses on A.
    w.advance(60 * DAY + GRACE + DAY)
    default(w, big.receivable_id)
    led.foreclose(w.bank, a, bank_token)  # worth 3,500,000: credited the bank's 500,000 exposure

    # B's appraisals go: appraiser withdraws its own; appraiser2 is expelled and struck.
    led.withdraw_appraisal(appraiser, b)                                           # AppraisalWithdrawn
    led.expel(w.operator, appraiser2)
    led.strike_appraisals(w.operator, b, appraiser2)                               # AppraisalStruck

    # The big receivable is repaid in full after all: A returns to the core enterprise.
    led.repay(w.core, big.receivable_id, 1_000_000)
    led.redeem_data_asset(w.spare, a)                                              # Returned
    return {"a": a, "b": b, "c": c, "pledge_a": pledge_a, "pledge_b": pledge_b, "receivable": big.receivable_id,
            "reused_slot": slot, "appraiser2": appraiser2.address, "bank_token": bank_token}


def test_every_data_asset_event_lands_in_the_right_tables(mw, db, tmp_path):
    # A window of 2: most blocks are applied as catch-up, whose timestamps come from extra headers.
    with mw.mirror(db, window=2) as mirror:
        ids = every_data_asset_event(mw)
        cursor = mirror.sync()
    assert cursor.number == mw.head()
    assert assert_mirror_matches_chain(mw, db) == cursor.number

    with MirrorReader(db).snapshot() as snap:
        s = snap.session
        names = {(c, n) for c, n in s.exec(select(EventLog.contract, EventLog.name).distinct())}
        assert _abi_events(REGISTRY) | {("CreditLines", "CreditLineAdvanceRateSet"),
                                        ("CreditLines", "CreditLineCollateralChanged"),
                                        ("CreditLines", "CreditLineTermsChanged")} <= names

        a, b, c = (s.get(DataAsset, ids[k]) for k in ("a", "b", "c"))
        assert (a.owner, a.pledge_id, a.exchange != c.exchange) == (mw.core.address, 0, True)  # returned
        assert (b.owner, b.pledge_id, b.uri) == (mw.core.address, 0, ODD_URI.replace("\x00", "\ufffd"))
        assert (c.owner, c.listing_id) == (mw.tier1.address, "0x" + "00" * 32)
        assert a.listing_id == "0x" + LISTING.hex()

        pa, pb = s.get(Pledge, ids["pledge_a"]), s.get(Pledge, ids["pledge_b"])
        assert (pa.state, pa.owner, pa.financier, pa.counted_value, pa.receivable_id) == (
            PledgeState.RETURNED, mw.core.address, mw.bank.address, 3_000_000, ids["receivable"])
        assert (pa.token_id, pa.foreclosed_value, pa.recovered) == (ids["bank_token"], 3_000_000, 500_000)  # valued as pledged
        assert (pb.state, pb.counted_value, pb.receivable_id) == (PledgeState.RELEASED, 2_000_000, 0)
        assert pa.pledged_at < pa.ended_at and pb.pledged_at <= pb.ended_at

        # A's second slot was reused after it expired: the row is the later appraisal.
        assert ids["reused_slot"] == 1
        reused = s.get(Appraisal, (ids["a"], 1))
        assert (reused.value, reused.appraiser) == (3_500_000, ids["appraiser2"])
        counts = dict(s.exec(select(Appraisal.asset_id, func.count()).group_by(Appraisal.asset_id)).all())
        assert counts == {ids["a"]: 2}  # B's were withdrawn and struck

        line = s.get(CreditLine, mw.line_id)
        assert (line.limit, line.advance_rate_bps, line.collateral_value, line.collateral_valid_until) == (
            200_000, RATE, 0, 0)  # nothing pledged any more
    assert mw.ledger.receivable(ids["receivable"]).state == ReceivableState.SETTLED

    # A mirror applying every block with its header (the default window) builds the same tables.
    journaled = str(tmp_path / "journaled.db")
    with mw.mirror(journaled) as mirror:
        mirror.sync()
    assert _strip_cursor(dump(journaled)) == _strip_cursor(dump(db))


# -- reorgs --------------------------------------------------------------------------------------


def revert_to(mw, snapshot: str) -> None:
    assert mw.rpc("evm_revert", snapshot) is True
    mw.chain.forget_local_state()


def _strip_cursor(tables: dict) -> dict:
    return {name: rows for name, rows in tables.items() if name != "cursor"}


def _rows(db: str) -> dict[str, int]:
    with MirrorReader(db).snapshot() as snap:
        s = snap.session
        return {model.__tablename__: s.exec(select(func.count()).select_from(model)).one()[0]
                for model in (DataAsset, Appraisal, Pledge)}


def test_a_reorg_rolls_back_a_pledge_an_appraisal_and_a_foreclosure(mw, db, tmp_path):
    led = mw.ledger
    appraiser, appraiser2, exchange = parties(mw)
    led.set_advance_rate(mw.bank, mw.line_id, RATE)
    a = ready_asset(mw, appraiser, exchange, 4_000_000, 365)
    led.pledge(mw.core, a, mw.line_id)
    b = ready_asset(mw, appraiser, exchange, 2_000_000, 365)
    issued = mw.issue(100_000)
    token = led.split(mw.tier1, issued.token_id, mw.bank, 60_000).token_id
    mw.advance(90 * DAY + GRACE + DAY)
    default(mw, issued.receivable_id)
    with mw.mirror(db) as mirror:
        mirror.sync()
        before = dump(db)
        assert _rows(db) == {"data_asset": 2, "appraisal": 2, "pledge": 1}
        snapshot = mw.rpc("evm_snapshot")
        led.foreclose(mw.bank, a, token)                                       # a foreclosure
        led.appraise(appraiser2, b, report_hash=os.urandom(32), value=1_500_000,
                     valid_until=mw.now() + 300 * DAY)                         # an appraisal
        led.pledge(mw.core, b, mw.line_id)                                     # a pledge
        mirror.sync()
        assert_mirror_matches_chain(mw, db)
        assert _rows(db) == {"data_asset": 2, "appraisal": 3, "pledge": 2}
        with MirrorReader(db).snapshot() as snap:
            assert snap.session.get(DataAsset, a).owner == mw.bank.address
            assert snap.session.get(CreditLine, mw.line_id).collateral_value == 1_500_000

        # The chain goes back to before the foreclosure: the tables go back with it.
        revert_to(mw, snapshot)
        assert mirror.sync().number == mw.head()
        assert dump(db) == before
        assert_mirror_matches_chain(mw, db)

        # Another branch: A released instead, and appraised again.
        led.release(mw.bank, a)
        led.appraise(appraiser2, a, report_hash=os.urandom(32), value=5_000_000, valid_until=mw.now() + 300 * DAY)
        mirror.sync()
        assert_mirror_matches_chain(mw, db)
        with MirrorReader(db).snapshot() as snap:
            s = snap.session
            assert (s.get(DataAsset, a).owner, s.get(Pledge, 1).state) == (mw.core.address, PledgeState.RELEASED)
            assert s.get(CreditLine, mw.line_id).collateral_value == 0

        # Replaced at the same height (anvil_reorg): B pledged and foreclosed, A appraised, undone.
        led.pledge(mw.core, b, mw.line_id)
        led.foreclose(mw.bank, b, token)
        # appraiser's new appraisal of A replaces its own (slot 0): a row updated, not added.
        led.appraise(appraiser, a, report_hash=os.urandom(32), value=4_500_000, valid_until=mw.now() + 100 * DAY)
        mirror.sync()
        assert_mirror_matches_chain(mw, db)
        assert _rows(db) == {"data_asset": 2, "appraisal": 3, "pledge": 2}
        with MirrorReader(db).snapshot() as snap:
            assert snap.session.get(Appraisal, (a, 0)).value == 4_500_000
        head = mw.head()
        mw.rpc("anvil_reorg", 3, [])
        mw.chain.forget_local_state()
        assert mw.head() == head
        assert mirror.sync().number == head
        assert_mirror_matches_chain(mw, db)
        assert _rows(db) == {"data_asset": 2, "appraisal": 3, "pledge": 1}
        with MirrorReader(db).snapshot() as snap:
            assert snap.session.get(Appraisal, (a, 0)).value == 4_000_000  # the replaced appraisal is back
            assert (snap.session.get(DataAsset, b).owner, snap.session.get(DataAsset, b).pledge_id) == (
                mw.core.address, 0)

    # And the tables are what a mirror of the final chain alone builds.
    fresh = str(tmp_path / "fresh.db")
    with mw.mirror(fresh) as mirror:
        mirror.sync()
    assert _strip_cursor(dump(fresh)) == _strip_cursor(dump(db))


@pytest.mark.parametrize("depth", [3, 4], ids=["window", "window+1"])
def test_a_reorg_as_deep_as_the_window_undoes_a_withdrawal_a_return_and_a_pause(mw, db, depth):
    """Attack (red team) at the window's edge with the rules this round added: the last three
    blocks withdraw an appraisal (a row deleted), return a foreclosed asset (owner and pledge
    state) and pause the ledger. A reorg exactly as deep as the window (3) must bring every row
    back as the chain has it; one block deeper halts, changing nothing."""
    led = mw.ledger
    appraiser, appraiser2, exchange = parties(mw)
    led.set_advance_rate(mw.bank, mw.line_id, RATE)
    a = ready_asset(mw, appraiser, exchange, 4_000_000, 365)
    led.appraise(appraiser2, a, report_hash=os.urandom(32), value=4_500_000, valid_until=mw.now() + 300 * DAY)
    pledge_a = led.pledge(mw.core, a, mw.line_id).pledge_id
    issued = mw.issue(100_000)
    token = led.split(mw.tier1, issued.token_id, mw.bank, 60_000).token_id
    mw.advance(90 * DAY + GRACE + DAY)
    default(mw, issued.receivable_id)
    led.foreclose(mw.bank, a, token)
    led.repay(mw.core, issued.receivable_id, 100_000)  # approve, repay, reset: A may now return
    with mw.mirror(db, window=3) as mirror:
        mirror.sync()
        before = dump(db)
        head = mw.head()
        led.withdraw_appraisal(appraiser2, a)
        led.redeem_data_asset(mw.spare, a)
        led.pause(mw.operator)
        mirror.sync()
        assert_mirror_matches_chain(mw, db)
        with MirrorReader(db).snapshot() as snap:
            assert snap.session.get(DataAsset, a).owner == mw.core.address
            assert snap.session.get(Pledge, pledge_a).state == PledgeState.RETURNED
        cursor = mirror.cursor
        mw.rpc("anvil_reorg", depth, [])
        mw.chain.forget_local_state()
        if depth > 3:
            with pytest.raises(MirrorHalted, match="deeper than the window of 3 blocks|without an undo journal"):
                mirror.sync()
            assert mirror.cursor == cursor
            return
        assert mirror.sync().number == head + 3
        assert_mirror_matches_chain(mw, db)
        after = dump(db)
        assert _strip_cursor(after) == _strip_cursor(before)
        with MirrorReader(db).snapshot() as snap:
            assert snap.session.get(DataAsset, a).owner == mw.bank.address
            assert snap.session.get(Pledge, pledge_a).state == PledgeState.FORECLOSED
            assert snap.session.get(Appraisal, (a, 1)).value == 4_500_000
        assert not led.paused()


# -- upgrading a mirror built before the data assets ---------------------------------------------


def test_a_database_that_never_followed_the_registry_halts_until_rebuilt(mw, db):
    """A mirror of before 0003 did not fetch the registry's logs: its assets are not in SQL."""
    appraiser, _, exchange = parties(mw)
    older = [c for c in contracts_of(mw.deployment) if c[0] != REGISTRY]
    ready_asset(mw, appraiser, exchange, 1_000_000, 30)
    with mw.mirror(db, contracts=older) as mirror:
        mirror.sync()
    with mw.mirror(db) as mirror:
        assert mirror.status == "halted" and REGISTRY in mirror.message and "rebuild" in mirror.message
        with pytest.raises(MirrorHalted):
            mirror.sync()
    with mw.mirror(db) as mirror:  # the halt is recorded
        assert mirror.status == "halted"
        mirror.rebuild()
        mirror.sync()
    assert_mirror_matches_chain(mw, db)
    with mw.mirror(db) as mirror:
        assert mirror.status == "running"
        assert mirror.sync().number == mw.head()


def _upgrade_to(engine, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    from ledger.mirror.db import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def _mirror_at_0002(engine, *logged: str) -> None:
    """A database at revision 0002 holding one credit line and the CreditLines events `logged`."""
    _upgrade_to(engine, "0002")
    a, h = "0x" + "33" * 20, "0x" + "55" * 32
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO mirror_cursor (id, chain_id, voucher, block_number, block_hash, status, message) "
            "VALUES (1, 31337, :a, 9, :h, 'running', '')"), {"a": a, "h": h})
        conn.execute(text(
            'INSERT INTO credit_line (line_id, financier, obligor, currency, "limit", used, expiry, grace_period) '
            "VALUES (1, :a, :a, :a, 1000, 10, 99, 7)"), {"a": a})
        for i, name in enumerate(logged):
            conn.execute(text(
                "INSERT INTO event_log (chain_id, block_number, block_hash, log_index, tx_hash, contract, address, "
                "name, args) VALUES (31337, 5, :h, :i, :h, 'CreditLines', :a, :n, '{}')"),
                {"h": h, "i": i, "a": a, "n": name})


def test_migration_0003_gives_existing_lines_no_collateral(db):
    engine = make_engine(db)
    _mirror_at_0002(engine, "CreditLineGranted", "CreditLineTermsChanged")
    migrate(engine)
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT collateral_value, collateral_valid_until, advance_rate_bps, used FROM credit_line")).one()
        cursor = conn.execute(select(MirrorCursor.__table__)).one()
    assert tuple(row) == (0, 0, 0, 10)
    assert cursor.status == "running"  # nothing about collateral was skipped: it goes on
    assert cursor.contracts == "CreditLines,Factoring,ReceivableVoucher"  # what it followed
    engine.dispose()


def test_migration_0003_halts_a_mirror_that_skipped_collateral_events(db):
    engine = make_engine(db)
    _mirror_at_0002(engine, "CreditLineGranted", "CreditLineAdvanceRateSet")
    migrate(engine)
    with engine.connect() as conn:
        cursor = conn.execute(select(MirrorCursor.__table__)).one()
    assert cursor.status == "halted" and "rebuild" in cursor.message
    engine.dispose()


def test_restoring_a_journal_image_from_before_0003_gives_a_line_no_collateral(db):
    """Undo images journaled before the upgrade lack the credit line's collateral columns."""
    engine = make_engine(db)
    migrate(engine)
    line = {"line_id": 3, "financier": "0x" + "33" * 20, "obligor": "0x" + "44" * 20, "currency": "0x" + "55" * 20,
            "limit": 1_000, "used": 10, "expiry": 99, "grace_period": 7, "collateral_value": 500,
            "collateral_valid_until": 88, "advance_rate_bps": 5_000}
    store = Store()
    with engine.begin() as conn:
        store.begin(conn)
        store.put("credit_line", line)
        store.flush()
    store.committed()
    old = {k: v for k, v in line.items() if k not in ("collateral_value", "collateral_valid_until",
                                                      "advance_rate_bps")} | {"used": 5}
    with engine.begin() as conn:
        store.begin(conn)
        store.restore("credit_line", (3,), old)
        store.flush()
    store.committed()
    with engine.connect() as conn:
        assert tuple(conn.execute(text(
            "SELECT used, collateral_value, collateral_valid_until, advance_rate_bps FROM credit_line")).one()) == (
            5, 0, 0, 0)
    engine.dispose()


def _mirror_at_0004(engine, *uris: str) -> None:
    """A database at revision 0004 holding data assets with the URIs (as text) `uris`."""
    _upgrade_to(engine, "0004")
    a, h = "0x" + "33" * 20, "0x" + "55" * 32
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO mirror_cursor (id, chain_id, voucher, block_number, block_hash, status, message, contracts) "
            "VALUES (1, 31337, :a, 9, :h, 'running', '', '')"), {"a": a, "h": h})
        for i, uri in enumerate(uris, start=1):
            conn.execute(text(
                "INSERT INTO data_asset (asset_id, owner, content_hash, metadata_hash, uri, exchange, listing_id, "
                "registered_at, pledge_id, registered_block, tx_hash, updated_block) "
                "VALUES (:i, :a, :h, :h, :uri, :a, :h, 1, 0, 1, :h, 1)"), {"i": i, "a": a, "h": h, "uri": uri})


def test_migration_0005_keeps_the_bytes_of_existing_uris(db):
    engine = make_engine(db)
    _mirror_at_0004(engine, "ipfs://asset", "ipfs://caf\u00e9/\u6570\u636e", "")
    migrate(engine)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT uri_hex FROM data_asset ORDER BY asset_id")).scalars().all()
        cursor = conn.execute(select(MirrorCursor.__table__)).one()
    assert rows == ["0x" + u.encode().hex() for u in ("ipfs://asset", "ipfs://caf\u00e9/\u6570\u636e", "")]
    assert cursor.status == "running"
    engine.dispose()


def test_migration_0005_halts_a_mirror_whose_uris_lost_their_bytes(db):
    """A U+FFFD in the text may stand for NUL or invalid UTF-8 on chain: only a rebuild knows."""
    engine = make_engine(db)
    _mirror_at_0004(engine, "ipfs://asset", "ipfs://a\ufffdb")
    migrate(engine)
    with engine.connect() as conn:
        cursor = conn.execute(select(MirrorCursor.__table__)).one()
    assert cursor.status == "halted" and "rebuild" in cursor.message and "[2]" in cursor.message
    engine.dispose()
