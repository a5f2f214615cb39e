"""Checks against a running OpenAI-compatible endpoint: a smoke test (smoke.py, stdlib only so it can run
from a ConfigMap on a plain Python image) and a load sweep (`infergate bench`: plan, loadgen, stats,
report, chart, progress, command)."""
