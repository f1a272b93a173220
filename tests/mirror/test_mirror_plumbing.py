"""The mirror's plumbing: migrations equal the models, amounts stay exact, pages shrink and grow."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from mirror_checks import assert_mirror_matches_chain
from sqlalchemy import select

from ledger.mirror import ValueAllowance, make_engine, migrate
from ledger.mirror.models import TABLE_NAMES, SQLModel
from ledger.mirror.rpc import Rpc, RpcError


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
