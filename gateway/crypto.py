"""Secrets at rest: AES-256-GCM under keys derived from the master secret (HKDF-SHA256).

Each purpose has its own derived key (``info``), and each ciphertext is bound to the row it
belongs to by its associated data (a party's address, a document's fingerprint), so a
ciphertext copied to another row does not decrypt. Stored form: 12-byte nonce || ciphertext+tag.
API keys are never stored in clear (a registration's idempotent response keeps it sealed, for a
retry whose first answer was lost; authentication uses only SHA-256 of the token, which has 256 bits of entropy (a slow
password hash would add nothing against guessing and cost every request)).
"""

from __future__ import annotations

import hashlib
import os
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr

SALT = b"receivables-ledger/gateway"
PARTY_KEYS = b"party-keys/v1"
DOCUMENTS = b"documents/v1"
APPRAISAL_REPORTS = b"appraisal-reports/v1"
#: A registration's API key inside its stored idempotent response (replayed to a retry, never in clear).
API_KEYS = b"api-keys/v1"
API_KEY_PREFIX = "rlk_"


class KeyBox:
    """Encrypt and decrypt one kind of secret under a key derived from the master secret."""

    def __init__(self, master_secret: SecretStr, purpose: bytes):
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=SALT, info=purpose).derive(
            master_secret.get_secret_value().encode())
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "KeyBox(<hidden>)"

    def seal(self, plaintext: bytes, bound_to: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, plaintext, bound_to)

    def open(self, sealed: bytes, bound_to: bytes) -> bytes:
        """Raises cryptography.exceptions.InvalidTag if tampered with, or sealed under another secret."""
        return self._aead.decrypt(sealed[:12], sealed[12:], bound_to)


def new_api_key() -> str:
    """A fresh API key: shown once to its party, never stored."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def fingerprint(content: bytes) -> bytes:
    """A trade document's on-chain fingerprint: SHA-256 of its bytes."""
    return hashlib.sha256(content).digest()
