"""The mirror's plumbing: migrations equal the models, amounts stay exact, pages shrink and grow."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from mirror_checks import assert_mirror_matches_chain
from sqlalchemy import select, text

from ledger.mirror import MirrorCursor, ValueAllowance, make_engine, migrate
from ledger.mirror.models import TABLE_NAMES, SQLModel
from ledger.rpc import Rpc, RpcError
from ledger.mirror.store import Store


def _ours(obj, name, type_, reflected, compare_to) -> bool:
    return type_ != "table" or name in TABLE_NAMES


def test_the_migrations_build_exactly_the_models(db):
    engine = make_engine(db)
    migrate(engine)
    migrate(engine)  # a second run is a no-op
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": _ours})
        assert compare_metadata(context, SQLModel.metadata) == []
    engine.dispose()


def test_amounts_above_2_to_the_63_stay_exact(db):
    engine = make_engine(db)
    migrate(engine)
    huge = 2**128 - 1
    with engine.begin() as conn:
        conn.execute(ValueAllowance.__table__.insert(), [
            {"token_id": 1, "operator": "0x" + "11" * 20, "value": huge, "epoch": 0},
            {"token_id": 2, "operator": "0x" + "11" * 20, "value": 7, "epoch": 0},
        ])
    with engine.connect() as conn:
        values = sorted(v for (v,) in conn.execute(select(ValueAllowance.__table__.c.value)))
    assert values == [7, huge] and all(type(v) is int for v in values)
    engine.dispose()


def test_a_provider_range_error_halves_the_page_and_success_grows_it_back(mw, db, monkeypatch):
    mw.traffic(2)
    asked: list[int] = []
    real = Rpc.logs

    def picky(self, addresses, first, last):
        asked.append(last - first + 1)
        if last - first + 1 > 4:
            raise RpcError("eth_getLogs", {"code": -32005, "message": "query exceeds max block range 4"})
        return real(self, addresses, first, last)

    monkeypatch.setattr(Rpc, "logs", picky)
    with mw.mirror(db, max_page=64, window=2) as mirror:
        mirror.sync()
    assert asked[0] > 4 and asked[1] == asked[0] // 2  # refused, then halved until accepted
    assert any(later > earlier for earlier, later in zip(asked, asked[1:]))  # and grown back again
    assert_mirror_matches_chain(mw, db)


def _upgrade_to(engine, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    from ledger.mirror.db import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def _mirror_at_0001(engine, *logged: str) -> None:
    """A database at revision 0001 holding one voucher, one receivable and the events `logged`."""
    _upgrade_to(engine, "0001")
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO mirror_cursor (id, chain_id, voucher, block_number, block_hash, status, message) "
            "VALUES (1, 31337, :a, 9, :h, 'running', '')"), {"a": "0x" + "11" * 20, "h": "0x" + "22" * 32})
        conn.execute(text(
            "INSERT INTO voucher (token_id, holder, receivable_id, value, parent_id, status, epoch, burned, "
            "minted_block) VALUES (1, :a, 1, 100, 0, 2, 0, false, 3)"), {"a": "0x" + "33" * 20})
        conn.execute(text(
            "INSERT INTO receivable (receivable_id, obligor, supplier, line_id, currency, face_value, repaid, "
            "maturity, document_hash, root_token_id, state, issued_block, tx_hash) "
            "VALUES (1, :a, :a, 1, :a, 100, 0, 99, :h, 1, 2, 3, :h)"), {"a": "0x" + "33" * 20, "h": "0x" + "44" * 32})
        for i, name in enumerate(logged):
            conn.execute(text(
                "INSERT INTO event_log (chain_id, block_number, block_hash, log_index, tx_hash, contract, address, "
                "name, args) VALUES (31337, 5, :h, :i, :h, 'ReceivableVoucher', :a, :n, '{}')"),
                {"h": "0x" + "55" * 32, "i": i, "a": "0x" + "11" * 20, "n": name})


def test_migration_0002_adds_paid_and_claimed_as_zero(db):
    engine = make_engine(db)
    _mirror_at_0001(engine, "Transfer", "ReceivableIssued")
    migrate(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT paid FROM voucher")).scalar() == 0
        assert conn.execute(text("SELECT claimed FROM receivable")).scalar() == 0
        cursor = conn.execute(select(MirrorCursor.__table__)).one()
    assert cursor.status == "running"  # nothing financing was skipped: it goes on
    engine.dispose()


def test_migration_0002_halts_a_mirror_that_skipped_financing_events(db):
    engine = make_engine(db)
    _mirror_at_0001(engine, "Transfer", "VoucherLocked")
    migrate(engine)
    with engine.connect() as conn:
        cursor = conn.execute(select(MirrorCursor.__table__)).one()
    assert cursor.status == "halted" and "rebuild" in cursor.message
    engine.dispose()


def test_restoring_a_journal_image_from_before_0002_gives_the_new_columns_zero(db):
    """Undo images journaled before the upgrade lack voucher.paid and receivable.claimed."""
    engine = make_engine(db)
    migrate(engine)
    row = {"token_id": 7, "holder": "0x" + "33" * 20, "receivable_id": 1, "value": 100, "parent_id": 0,
           "status": 2, "epoch": 0, "burned": False, "minted_block": 3, "burned_block": None, "paid": 40}
    store = Store()
    with engine.begin() as conn:
        store.begin(conn)
        store.put("voucher", row)
        store.flush()
    store.committed()
    old_image = {k: v for k, v in row.items() if k != "paid"} | {"value": 90}
    with engine.begin() as conn:
        store.begin(conn)
        store.restore("voucher", (7,), old_image)
        store.flush()
    store.committed()
    with engine.connect() as conn:
        assert tuple(conn.execute(text("SELECT value, paid FROM voucher WHERE token_id = 7")).one()) == (90, 0)
    engine.dispose()
