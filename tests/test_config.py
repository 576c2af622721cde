"""Environment variables in configuration values: ``${NAME}``, ``$NAME``, ``$$``."""

from __future__ import annotations

from pathlib import Path

import pytest

from zarrlake.config import load_config_file, substitute_env
from zarrlake.errors import InvalidInputError


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROOT", "/data")
    monkeypatch.setenv("ROOT_DIR", "/other")
    monkeypatch.delenv("UNSET_FOR_TEST", raising=False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${ROOT}/a.zarr", "/data/a.zarr"),
        ("$ROOT/a.zarr", "/data/a.zarr"),
        ("$ROOT_DIR/a", "/other/a"),  # the longest name, as string.Template
        ("${ROOT}_DIR", "/data_DIR"),
        ("${UNSET_FOR_TEST:-x}", "x"),
        ("costs $$5", "costs $5"),
        ("$$ROOT and $${ROOT}", "$ROOT and ${ROOT}"),
        ("$5, a lone $ and ${not-a-name}", "$5, a lone $ and ${not-a-name}"),
    ],
)
def test_substitution(text: str, expected: str) -> None:
    assert substitute_env(text) == expected


def test_substitution_walks_nested_values() -> None:
    value = {"a": ["$ROOT", {"b": "${ROOT}"}], "n": 1}
    assert substitute_env(value) == {"a": ["/data", {"b": "/data"}], "n": 1}


@pytest.mark.parametrize("text", ["$UNSET_FOR_TEST/a", "${UNSET_FOR_TEST}/a"])
def test_an_unset_variable_is_an_error(text: str) -> None:
    with pytest.raises(InvalidInputError, match=r"\$\{UNSET_FOR_TEST\}, which is not set") as info:
        substitute_env(text, where="config dict")
    assert info.value.subject == "UNSET_FOR_TEST"


def test_bare_names_in_a_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("target_dir: $ROOT/cube.zarr\nattrs:\n  note: 'pay $$1'\n")
    assert load_config_file(path) == {"target_dir": "/data/cube.zarr", "attrs": {"note": "pay $1"}}
