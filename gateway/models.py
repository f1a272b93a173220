"""The gateway's own tables (not the mirror's): parties, idempotency records, documents."""

from __future__ import annotations

import time

from sqlalchemy import BigInteger, Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel


class PartyBase(SQLModel):
    name: str = Field(max_length=200)
    address: str = Field(max_length=42, unique=True, index=True)


class Party(PartyBase, table=True):
    """A party the gateway authenticates. `sealed_key` is its private key under AES-GCM (None:
    the party brings its own key and submits self-signed transactions)."""

    __tablename__ = "gateway_party"

    id: int | None = Field(default=None, primary_key=True)
    api_key_hash: str = Field(max_length=64, unique=True, index=True)
    sealed_key: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_at: float = Field(default_factory=time.time)


class IdempotencyRecord(SQLModel, table=True):
    """The first result of a write sent with an Idempotency-Key, per party.

    The primary key (party, key) is the lock: a concurrent duplicate fails to insert and waits
    for the first request's result instead of sending anything.
    """

    __tablename__ = "gateway_idempotency"
    __table_args__ = (UniqueConstraint("party_id", "key", name="uq_idempotency_party_key"),)

    id: int | None = Field(default=None, primary_key=True)
    party_id: int = Field(index=True)
    key: str = Field(max_length=200)
    request_hash: str = Field(max_length=64)
    state: str = Field(max_length=16, default="pending")  # pending | done
    status_code: int | None = None
    response: str | None = None  # JSON
    created_at: float = Field(default_factory=time.time)
    #: The gateway instance running the write (None: nobody; a retry may take it over).
    owner: str | None = Field(default=None, max_length=64)
    #: A block before any transaction of the write: where a takeover looks for them.
    start_block: int | None = None
    #: JSON list of the transactions the write sent, each recorded before it was sent:
    #: {"sender", "to", "data", "value", "tx_hash" (once known)}.
    steps: str | None = None


class GatewayInstance(SQLModel, table=True):
    """A running gateway process and when it last said so (its heartbeat): a pending write whose
    owner has gone silent was cut off by a crash, and a retry may take it over."""

    __tablename__ = "gateway_instance"

    id: str = Field(primary_key=True, max_length=64)
    seen_at: float = Field(default_factory=time.time)


class Document(SQLModel, table=True):
    """A trade document, encrypted; `document_hash` (SHA-256 of the plaintext) is its fingerprint."""

    __tablename__ = "gateway_document"

    document_hash: str = Field(primary_key=True, max_length=66)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=255)
    size: int
    uploaded_by: str = Field(max_length=42, index=True)
    sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: float = Field(default_factory=time.time)


class AppraisalReport(SQLModel, table=True):
    """An appraisal report of one data asset, encrypted; `report_hash` (SHA-256) is what the
    appraiser attests on-chain. Bound to its asset: only that asset's owner, pledgee and
    auditors read it back."""

    __tablename__ = "gateway_appraisal_report"
    __table_args__ = (UniqueConstraint("asset_id", "report_hash", name="uq_appraisal_report_asset_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    #: 64-bit, as asset ids are (a 48-bit id bound as PostgreSQL's 32-bit INTEGER was a 503).
    asset_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    report_hash: str = Field(max_length=66, index=True)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=255)
    size: int
    uploaded_by: str = Field(max_length=42, index=True)
    sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: float = Field(default_factory=time.time)
