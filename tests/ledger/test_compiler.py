"""Compilation through the solcjs wrapper, cached by source hash."""

import pytest

from ledger.compiler import CompileJob, compile_job, standard_input
from ledger.exceptions import CompilationError


def test_the_cache_is_keyed_by_source_content(tmp_path, monkeypatch):
    import ledger.compiler as compiler

    monkeypatch.setattr(compiler, "BUILD_DIR", tmp_path)
    source = tmp_path / "contracts" / "A.sol"
    source.parent.mkdir()
    source.write_text("// SPDX-License-Identifier: MIT\npragma solidity ^0.8.24;\ncontract A { uint256 x = 1; }\n")
    monkeypatch.setattr(compiler, "PROJECT_ROOT", tmp_path)
    job = CompileJob("t", (source,))
    first = compile_job(job)
    assert "A" in first and first["A"].bytecode
    assert len(list(tmp_path.glob("t-*.json"))) == 1
    compile_job(job)  # served from the cache
    assert len(list(tmp_path.glob("t-*.json"))) == 1
    source.write_text(source.read_text().replace("= 1", "= 2"))
    compile_job(job)
    assert len(list(tmp_path.glob("t-*.json"))) == 2


def test_compiler_errors_are_raised_with_the_compilers_message(tmp_path, monkeypatch):
    import ledger.compiler as compiler

    monkeypatch.setattr(compiler, "BUILD_DIR", tmp_path)
    monkeypatch.setattr(compiler, "PROJECT_ROOT", tmp_path)
    bad = tmp_path / "Bad.sol"
    bad.write_text("pragma solidity ^0.8.24;\ncontract Bad { function f( }\n")
    with pytest.raises(CompilationError, match="ParserError"):
        compile_job(CompileJob("bad", (bad,)))


def test_an_unresolvable_import_is_named(tmp_path, monkeypatch):
    import ledger.compiler as compiler

    monkeypatch.setattr(compiler, "PROJECT_ROOT", tmp_path)
    src = tmp_path / "C.sol"
    src.write_text('import "@nowhere/X.sol";\ncontract C {}\n')
    with pytest.raises(CompilationError, match="@nowhere/X.sol"):
        standard_input(CompileJob("c", (src,), import_roots=(tmp_path,)))
