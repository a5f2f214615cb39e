"""Container images of the Jobs infergate generates (smoke test, isolation probes, in-cluster bench)."""

# python:3.13.5-slim-bookworm by tag and by digest (its multi-arch index), so a moved tag cannot change what
# runs: the scripts need only Python >= 3.11 and its standard library. Environments override it with
# smoke.image / probes.image, `infergate bench --emit-job` with --image.
PYTHON_IMAGE = ("python:3.13.5-slim-bookworm"
                "@sha256:4c2cf9917bd1cbacc5e9b07320025bdb7cdf2df7b0ceaccb55e9dd7e30987419")
