"""``infergate lint``: policy rules (policies/) over the object graph (infergate.core.graph).

Python API (used by ``infergate check``)::

    findings, summary = lint_paths(["dist/pattern1"], select=["GW", "INF"])
"""

from infergate.lint.config import LintConfig, discover_config, load_config
from infergate.lint.engine import lint_documents, lint_paths, selected_rules
from infergate.lint.platform import Platform

__all__ = [
    "LintConfig",
    "Platform",
    "discover_config",
    "lint_documents",
    "lint_paths",
    "load_config",
    "selected_rules",
]
