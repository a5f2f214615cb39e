"""infergate: GitOps manifest generator and policy linter for LLM inference on Kubernetes."""

__version__ = "0.1.0"
