"""The one plugin Registry behind backends, extractors and validation rules."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from zarrlake.config import Registry
from zarrlake.errors import (
    AlreadyExistsError,
    InvalidInputError,
    MissingDependencyError,
    NotFoundError,
)


def _int_only(name: str, value: Any) -> int:
    if not isinstance(value, int):
        raise InvalidInputError(f"{name} must be an int", subject=name)
    return value


def _install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, group: str, line: str) -> None:
    """Install a package declaring one entry point, as pip would."""
    (tmp_path / "numbers_plugin.py").write_text("SEVEN = 7\nWORD = 'seven'\n")
    info = tmp_path / "numbers_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: numbers-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{group}]\n{line}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "numbers_plugin", raising=False)


def test_builtins_are_imported_on_first_use() -> None:
    registry = Registry(
        "number", "zarrlake.test-none", check=_int_only, builtins={"e": "errno:EIO"}
    )
    assert registry._entries["e"] == "errno:EIO"  # nothing imported yet
    import errno

    assert registry.get("e") == errno.EIO
    assert registry.names() == ["e"]


def test_a_name_is_never_replaced_silently() -> None:
    registry = Registry("number", "zarrlake.test-none", check=_int_only, builtins={"one": 1})
    registry.register("one", 1)  # the same entry again is fine
    with pytest.raises(AlreadyExistsError, match="number named 'one' is already registered"):
        registry.register("one", 2)
    registry.register("one", 2, replace=True)
    assert registry.get("one") == 2


def test_entries_are_checked() -> None:
    registry = Registry("number", "zarrlake.test-none", check=_int_only)
    with pytest.raises(InvalidInputError, match="must be an int"):
        registry.register("x", 1.5)  # type: ignore[arg-type]
    registry.register("y", "errno:errorcode")  # a spec is checked when imported
    with pytest.raises(InvalidInputError, match="y must be an int"):
        registry.get("y")


def test_unknown_names_list_what_exists() -> None:
    registry = Registry("number", "zarrlake.test-none", check=_int_only, builtins={"one": 1})
    with pytest.raises(NotFoundError, match="no number named 'two'; available: one") as info:
        registry.get("two")
    assert "zarrlake.test-none" in (info.value.hint or "")


def test_a_missing_dependency_names_the_install_command() -> None:
    registry = Registry(
        "number",
        "zarrlake.test-none",
        check=_int_only,
        builtins={"far": "zarrlake_no_such_package.module:VALUE"},
        install_hints={"far": "pip install 'zarrlake[far]'"},
    )
    with pytest.raises(MissingDependencyError) as info:
        registry.get("far")
    assert info.value.hint == "pip install 'zarrlake[far]'"


def test_entry_points_are_read_once_and_imported_when_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    group = "zarrlake.test-numbers"
    registry = Registry("number", group, check=_int_only)
    assert registry.names() == []  # read now, before the plugin is installed
    _install(tmp_path, monkeypatch, group, "seven = numbers_plugin:SEVEN")
    assert registry.names() == []  # not read again on every call
    fresh = registry.copy()
    assert fresh.names() == ["seven"]
    assert "numbers_plugin" not in sys.modules  # listed, not imported
    assert fresh.get("seven") == 7


def test_a_broken_plugin_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    group = "zarrlake.test-broken"
    _install(tmp_path, monkeypatch, group, "gone = numbers_plugin:MISSING")
    registry = Registry("number", group, check=_int_only)
    with pytest.raises(InvalidInputError, match="number 'gone' .numbers_plugin:MISSING. failed"):
        registry.get("gone")


def test_validation_rules_register_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import zarr

    from zarrlake.meta import _validate, register_rule, validate

    monkeypatch.setattr(_validate, "RULES", _validate.RULES.copy())

    def no_title(ctx: Any) -> Any:
        if "title" not in ctx.hierarchy.nodes[""].attributes:
            yield "the root group has no title"

    register_rule("title", no_title)
    with pytest.raises(AlreadyExistsError):
        register_rule("title", lambda ctx: iter(()))
    zarr.open_group(tmp_path / "a.zarr", mode="w")
    report = validate(tmp_path / "a.zarr")
    assert "custom:no_title" in report.codes()
    assert not report.valid
