"""A CEL-to-Python compiler for the subset of CEL the pinned CRDs' ``x-kubernetes-validations`` use.

``compile_fast(rule)`` returns a plain Python function of ``self`` (generated source, compiled once), or
None when the rule uses anything outside the subset: the caller then keeps using cel-rust. Semantics are
cel-go's, as the Kubernetes API server runs it, and never guessed: an unsupported construct rejects the
whole rule at compile time.

Modules: ``syntax`` (lexer, parser: CEL text to a tuple AST), ``re2`` (RE2 patterns to Python ones),
``codegen`` (AST to Python source, compiled once per rule), ``runtime`` (the helpers that source calls).

Runtime errors are Python exceptions: ``KeyError(name)`` for a select on a missing map key (what cel-rust
raises too: the caller reports "no such key"), ``CelEvalError`` for every other CEL error. Inside
``&&``/``||``/``all``/``exists`` errors are values, absorbed as CEL specifies (commutative logic).

Known divergences from cel-rust (cel-go is followed; tests/test_celfast.py asserts each explicitly):
  * ``size(string)`` counts code points (cel-go), cel-rust counts UTF-8 bytes;
  * ``all``/``exists`` absorb an element's error when another element decides the result (cel-go);
    cel-rust stops at the first error;
  * ``duration()`` follows Go's ``time.ParseDuration`` exactly (``µs``, overflow is an error, ``1s2`` is
    an error); cel-rust's parser differs on such strings.
"""

from infergate.validate.celfast.codegen import compile_fast, why_not
from infergate.validate.celfast.re2 import translate_re2
from infergate.validate.celfast.runtime import CelEvalError, Duration, parse_duration

__all__ = ["CelEvalError", "Duration", "compile_fast", "parse_duration", "translate_re2", "why_not"]
