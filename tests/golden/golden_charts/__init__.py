"""User charts of the golden project (environment `charts:`), imported from tests/golden/ by synth."""
