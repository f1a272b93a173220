"""Compile the project's Solidity sources with solcjs (through tools/solc), cached by source hash.

Sources are handed to the compiler by content: the import graph is resolved here, from the
project's own files and the npm packages in ``node_modules``. That makes one compile job
independent of the working directory, and lets a job resolve ``@openzeppelin/...`` to a
different copy (the ERC-3525 reference implementation needs OpenZeppelin 4.x, which npm nests
inside its package, while our contracts use 5.x).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .exceptions import CompilationError
from .paths import BUILD_DIR, NODE_MODULES, PROJECT_ROOT, SOLC_WRAPPER

SOLC_VERSION = "0.8.37"
# Shanghai, not the compiler's newer default: Ganache 7.9 (the alternative node) stops there,
# and one bytecode for both nodes keeps gas figures comparable.
EVM_VERSION = "shanghai"
# 200 runs through the IR pipeline: ReceivableVoucher (ERC-3525, membership, receivables,
# settlement) must stay under the 24,576-byte code size limit (EIP-170) that real networks
# enforce; the legacy pipeline at 200 runs leaves 1.2 KB of room, via-IR about 3.8 KB, and
# via-IR also costs less gas on our hot paths. It compiles slower (~11 s), hence the cache.
OPTIMIZER_RUNS = 200
VIA_IR = True

_IMPORT = re.compile(r"""^\s*import\s+(?:[^;]*?\bfrom\s+)?["']([^"']+)["']""", re.MULTILINE)


@dataclass(frozen=True)
class CompileJob:
    """One compiler invocation: entry files plus where their imports resolve."""

    name: str
    entries: tuple[Path, ...]
    import_roots: tuple[Path, ...] = (NODE_MODULES,)
    settings: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Artifact:
    """The ABI and bytecode of one compiled contract."""

    name: str
    source: str
    abi: list
    bytecode: str
    deployed_bytecode: str

    @property
    def deployed_size(self) -> int:
        return len(self.deployed_bytecode) // 2


def project_job() -> CompileJob:
    """The job that compiles everything under contracts/ (mocks included)."""
    entries = tuple(sorted((PROJECT_ROOT / "contracts").rglob("*.sol")))
    return CompileJob("project", entries)


def _unit_name(path: Path, roots: tuple[Path, ...]) -> str:
    for root in (PROJECT_ROOT, *roots):
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            continue
    raise CompilationError(f"{path} lies outside the project and its import roots")


def _resolve(importer: str, target: str, roots: tuple[Path, ...]) -> tuple[str, Path]:
    """Map an import of `target` from unit `importer` to (unit name, file)."""
    if target.startswith("."):
        unit = (Path(importer).parent / target).as_posix()
        parts: list[str] = []
        for part in unit.split("/"):
            if part == "..":
                parts.pop()
            elif part not in (".", ""):
                parts.append(part)
        unit = "/".join(parts)
    else:
        unit = target
    for base in (*roots, PROJECT_ROOT):
        candidate = base / unit
        if candidate.is_file():
            return unit, candidate
    raise CompilationError(f"cannot resolve import {target!r} from {importer} (looked in {list(map(str, roots))})")


def collect_sources(job: CompileJob) -> dict[str, str]:
    """Every source unit the job's entries need, by unit name."""
    sources: dict[str, str] = {}
    pending = [(_unit_name(p, job.import_roots), p) for p in job.entries]
    while pending:
        unit, path = pending.pop()
        if unit in sources:
            continue
        text = path.read_text()
        sources[unit] = text
        for target in _IMPORT.findall(text):
            pending.append(_resolve(unit, target, job.import_roots))
    return sources


def standard_input(job: CompileJob) -> dict:
    settings = {
        "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
        "viaIR": VIA_IR,
        "evmVersion": EVM_VERSION,
        "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
    }
    settings.update(job.settings)
    return {
        "language": "Solidity",
        "sources": {unit: {"content": text} for unit, text in sorted(collect_sources(job).items())},
        "settings": settings,
    }


def compile_job(job: CompileJob, *, use_cache: bool = True) -> dict[str, Artifact]:
    """Compile `job` (or load it from the cache) and return its artifacts by contract name.

    Raises:
        CompilationError: the compiler reported errors, or could not be run.
    """
    std_in = standard_input(job)
    blob = json.dumps(std_in, sort_keys=True).encode()
    digest = hashlib.sha256(blob + SOLC_VERSION.encode()).hexdigest()[:16]
    cache = BUILD_DIR / f"{job.name}-{digest}.json"
    if use_cache and cache.is_file():
        output = json.loads(cache.read_text())
    else:
        output = _run_solc(std_in)
        BUILD_DIR.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        tmp.write_text(json.dumps(output))
        tmp.replace(cache)
    return _artifacts(output)


def _run_solc(std_in: dict) -> dict:
    import solcx
    from solcx.exceptions import SolcError

    if not SOLC_WRAPPER.exists():
        raise CompilationError(f"the solc wrapper {SOLC_WRAPPER} is missing")
    try:
        output = solcx.compile_standard(std_in, solc_binary=SOLC_WRAPPER, allow_empty=True)
    except SolcError as exc:
        raise CompilationError(_solc_messages(exc.stdout_data) or f"solc failed: {exc.message}") from exc
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompilationError("\n".join(e.get("formattedMessage", e.get("message", "")) for e in errors))
    return output


def _solc_messages(stdout: str | None) -> str:
    try:
        output = json.loads(stdout or "")
    except ValueError:
        return ""
    return "\n".join(e.get("formattedMessage", e.get("message", "")) for e in output.get("errors", []))


def _artifacts(output: dict) -> dict[str, Artifact]:
    found: dict[str, Artifact] = {}
    for source, contracts in output.get("contracts", {}).items():
        for name, data in contracts.items():
            evm = data.get("evm", {})
            found[name] = Artifact(
                name=name,
                source=source,
                abi=data.get("abi", []),
                bytecode=evm.get("bytecode", {}).get("object", ""),
                deployed_bytecode=evm.get("deployedBytecode", {}).get("object", ""),
            )
    return found


def compile_project(*, use_cache: bool = True) -> dict[str, Artifact]:
    """Compile contracts/ and return its artifacts by contract name."""
    return compile_job(project_job(), use_cache=use_cache)
