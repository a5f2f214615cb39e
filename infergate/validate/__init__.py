"""Schema validation: Kubernetes core kinds, pinned CRDs (JSON Schema) and their CEL rules."""

from __future__ import annotations

from infergate.validate.run import validate_paths

__all__ = ["validate_paths"]
