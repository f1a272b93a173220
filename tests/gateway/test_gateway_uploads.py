"""Uploads: kept in memory (never spooled to disk in the clear), and refused when too large."""

from __future__ import annotations

import os
import tempfile

from gateway.main import MAX_BODY


def test_a_large_document_is_never_spooled_to_a_temporary_file(gw, monkeypatch):
    rollovers = []
    rollover = tempfile.SpooledTemporaryFile.rollover
    monkeypatch.setattr(tempfile.SpooledTemporaryFile, "rollover",
                        lambda self: (rollovers.append(self._max_size), rollover(self)))
    document = os.urandom(3 * 1024 * 1024)  # past Starlette's default 1 MiB spool limit
    r = gw.client.post("/v1/documents", files={"file": ("scan.pdf", document, "application/pdf")},
                       headers=gw.core.auth)
    assert r.status_code == 201, r.text
    assert r.json()["size"] == len(document)
    assert rollovers == []


def test_a_body_over_the_limit_is_refused_before_it_is_read(gw):
    too_big = b"\0" * (MAX_BODY + 1)
    r = gw.client.post("/v1/documents", files={"file": ("huge.bin", too_big, "application/octet-stream")},
                       headers=gw.core.auth)
    assert r.status_code == 413
    assert "too large" in r.text.lower()
