"""Where things live in a checkout. Every path is absolute, derived from this file."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = PROJECT_ROOT / "node_modules"
NODE_BIN = NODE_MODULES / ".bin"
SOLC_WRAPPER = PROJECT_ROOT / "tools" / "solc"
BUILD_DIR = PROJECT_ROOT / "build"
DEPLOYMENTS_DIR = PROJECT_ROOT / "deployments"
