"""Which Node runs jsii (the JavaScript runtime behind cdk8s's Python bindings)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent.parent


def prefer_pinned_node() -> None:
    """jsii runs on the project's pinned Node 22, never the machine's end-of-life Node 20."""
    pinned = REPO_ROOT / "node_modules" / "node" / "bin" / "node"
    if "JSII_NODE" not in os.environ and pinned.exists():
        os.environ["JSII_NODE"] = str(pinned)
    # Without the pinned Node (e.g. a bare `pip install`), keep jsii's end-of-life banner off the
    # user's terminal deliberately; `make` always installs the supported Node.
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
