"""The gateway's guarantees with its own database and the mirror's on PostgreSQL: tests of the
other modules run again here on a world of its own whose two databases are fresh PostgreSQL
databases (gateway_world.postgres_world), dropped when the module ends.

What runs: read-your-writes; idempotency (a retry, concurrent duplicates of one key, a refusal
remembered, a write taken over after a crash, a repayment resumed); 50 concurrent splits of one
voucher; concurrent repayments and acceptances of one party, a refused repayment; trade
documents; the mirror's SQL reads (lists with filters and pages, lineage, history, the visibility
rules in SQL, the explorer's graph); data assets and appraisal reports; text PostgreSQL cannot
store (NUL in a party's name, an upload's file name or media type) and ids beyond 32 bits; and, PostgreSQL's own, no secret
stored in plaintext in either database.

It needs a PostgreSQL server: $LEDGER_TEST_DATABASE_URL (tools/postgres.sh starts one; bash run.sh
test does). Without it these tests skip locally and fail in CI (CI=true).
"""

from __future__ import annotations


import pytest
from explorer_world import explorer_world
from gateway_world import GW, postgres_world, write_secrets
from sqlalchemy import create_engine, inspect, text

from ledger.mirror.db import database_url

# The tests themselves, collected here a second time (with this module's `gw`).
from test_explorer_api import test_the_graph_shows_who_split_what_to_whom_and_what_was_factored  # noqa: F401
from test_gateway_audit import (  # noqa: F401
    test_uris_with_nul_or_invalid_utf8_from_another_client_do_not_fail_the_audit,
)
from test_gateway_basics import test_a_name_with_control_characters_is_refused_before_anything_is_sent  # noqa: F401
from test_gateway_data_assets import (  # noqa: F401
    test_a_read_is_the_mirrors_block_and_the_registry_agrees_at_that_block,
    test_appraisal_reports_are_read_only_by_owner_pledgee_and_auditors,
    test_ids_beyond_32_bits_are_404_not_a_database_error,
    test_register_appraise_list_pledge_release,
)
from test_gateway_guarantees import (  # noqa: F401
    test_a_refusal_is_remembered_too,
    test_an_idempotent_retry_returns_the_first_result_and_sends_once,
    test_concurrent_duplicates_of_one_key_send_once,
    test_fifty_concurrent_splits_move_exactly_the_available_value,
)
from test_gateway_input import (  # noqa: F401
    test_a_document_with_any_file_name_downloads_with_rfc_6266_disposition,
    test_a_registration_cut_off_after_the_admission_finishes_on_retry_with_its_key,
    test_an_idempotency_key_hashes_the_body_in_canonical_form,
)
from test_gateway_payments import (  # noqa: F401
    test_a_refused_repayment_mines_nothing_and_moves_no_allowance,
    test_a_repayment_cut_off_by_a_crash_is_resumed_without_paying_twice,
    test_concurrent_acceptances_by_one_financier_all_succeed,
    test_concurrent_repayments_by_one_party_all_succeed,
)
from test_gateway_receivables import (  # noqa: F401
    test_a_duplicate_fingerprint_is_409_before_anything_is_sent,
    test_issue_then_read_your_write,
    test_list_receivables_filters,
    test_repay_claim_and_overpayment,
)
from test_gateway_takeover import (  # noqa: F401
    test_a_retry_whose_checks_now_fail_answers_what_the_first_attempt_did,
    test_a_write_cut_off_after_it_was_mined_is_answered_from_the_chain,
    test_a_write_cut_off_before_it_sent_anything_is_sent_once_on_retry,
    test_a_write_whose_owner_is_alive_is_not_taken_over,
)
from test_gateway_visibility import (  # noqa: F401
    test_a_data_asset_is_read_by_its_owner_pledgee_appraisers_exchange,
    test_a_party_that_held_a_voucher_still_sees_it_after_passing_it_on,
    test_a_receivable_is_whole_for_its_principals_cut_to_a_branch_for_its_holders_refused_to_others,
    test_a_visible_vouchers_history_leaves_out_splits_into_hidden_branches,
    test_the_receivable_list_holds_only_what_the_caller_is_party_to,
    test_the_voucher_list_holds_only_what_the_caller_may_see_and_pages_over_that,
)
from test_gateway_vouchers import (  # noqa: F401
    test_an_upload_whose_name_or_media_type_has_control_characters_is_refused,
    test_documents_are_encrypted_fingerprinted_and_read_only_by_their_parties,
    test_list_vouchers_filters_and_pages,
    test_split_transfer_value_merge_transfer_and_lineage,
)


@pytest.fixture(scope="module")
def gw(tmp_path_factory) -> GW:
    """This module's world: its own Anvil and gateway, with both databases fresh on PostgreSQL."""
    with postgres_world(tmp_path_factory.mktemp("gateway-postgres")) as world:
        assert world.gateway.engine.dialect.name == "postgresql"
        assert world.gateway.reader.engine.dialect.name == "postgresql"
        yield world


@pytest.fixture(scope="module")
def ew(gw):
    return explorer_world(gw)


def _rows_as_bytes(url: str) -> bytes:
    """Every value of every table of the database at `url`, as the server returns it."""
    engine = create_engine(database_url(url))
    chunks: list[bytes] = []
    try:
        with engine.connect() as conn:
            for table in inspect(conn).get_table_names():
                for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                    for value in row:
                        if isinstance(value, (bytes, bytearray, memoryview)):
                            chunks.append(bytes(value))
                        elif value is not None:
                            chunks.append(str(value).encode())
    finally:
        engine.dispose()
    return b"\n".join(chunks)


def test_no_key_secret_or_document_is_stored_in_plaintext_in_either_database(gw):
    """test_gateway_guarantees reads SQLite's files; here every row of both PostgreSQL databases
    is read back after writes that store secrets sealed: a new party's key, a document, a report."""
    run = write_secrets(gw, "2026-118, 12 pallets,")
    newcomer, document_hash, report_hash, secrets_ = run.newcomer, run.document_hash, run.report_hash, run.secrets
    assert f"{newcomer.name}'s private key" in secrets_
    settings = gw.settings

    stored = {"gateway": _rows_as_bytes(settings.db), "mirror": _rows_as_bytes(settings.mirror_db)}
    # Controls: the scan sees this run's rows (public fingerprints are stored in the clear).
    assert document_hash.encode() in stored["gateway"] and document_hash.encode() in stored["mirror"]
    assert report_hash.encode() in stored["gateway"] and newcomer.address.encode() in stored["gateway"]
    found = [f"{name} in the {db} database" for db, blob in stored.items() for name, secret in secrets_.items()
             if secret in blob]
    assert found == []
