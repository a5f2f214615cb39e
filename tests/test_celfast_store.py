"""celfast's on-disk store: compiled rules come back from disk without being generated again; a damaged
file is ignored; rejected rules, regexes and durations survive the round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from infergate.validate.celfast import codegen, compile_fast, store

RULES = {
    "self.size() <= 2": [("ab", True), ("abc", False)],
    "self.matches('^a+$')": [("aaa", True), ("aaa\n", False)],  # RE2 $ does not match before a newline
    "duration(self) >= duration('1ms')": [("2ms", True), ("500us", False)],
    "self > 1.5": [(2, True), (1, False)],
}


@pytest.fixture(autouse=True)
def fresh_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(store, "_entries", None)
    monkeypatch.setattr(store, "_dirty", False)


def _forget_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "_entries", None)


def test_round_trip_without_generating_again(monkeypatch: pytest.MonkeyPatch) -> None:
    for rule in RULES:
        assert compile_fast(rule) is not None
    assert compile_fast("self == oldSelf") is None
    store.save()
    assert store.cache_file().is_file()
    _forget_in_memory(monkeypatch)

    def no_generation(*_: object, **__: object) -> None:
        raise AssertionError("generated again: the store was not used")

    monkeypatch.setattr(codegen, "generate", no_generation)
    for rule, cases in RULES.items():
        fn = compile_fast(rule)
        assert fn is not None
        assert [fn(value) for value, _ in cases] == [expected for _, expected in cases], rule
    assert compile_fast("self == oldSelf") is None


def test_damaged_file_is_ignored_and_rewritten(monkeypatch: pytest.MonkeyPatch) -> None:
    path = store.cache_file()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00garbage" * 10)
    fn = compile_fast("self.size() <= 2")
    assert fn is not None and fn("ab") is True
    store.save()
    _forget_in_memory(monkeypatch)
    assert store.lookup("self.size() <= 2") is not store.MISSING


def test_unwritable_cache_does_not_fail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "blocked"
    blocker.write_text("a file where the cache directory should be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert compile_fast("self.size() <= 2") is not None
    store.save()  # must not raise


def test_key_changes_with_the_compiler_source(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    before = store.cache_file()
    copy = tmp_path / "celfast"
    copy.mkdir()
    for module in Path(store.__file__).parent.glob("*.py"):
        edit = "\n# changed\n" if module.name == "re2.py" else ""
        (copy / module.name).write_text(module.read_text() + edit)
    monkeypatch.setattr(store, "__file__", str(copy / "store.py"))
    assert store.cache_file() != before
