from __future__ import annotations

from pathlib import Path

from zarrlake.append import AppendConfig
from zarrlake.config import config_help

ROOT = Path(__file__).resolve().parents[1]


def test_append_config_reference_is_current() -> None:
    """docs/append-config.md is generated from the model: regenerate with `make docs`."""
    assert (ROOT / "docs" / "append-config.md").read_text() == config_help(
        AppendConfig, "md"
    ) + "\n"


def test_convert_config_reference_is_current() -> None:
    """docs/convert-config.md is generated from the model: regenerate with `make docs`."""
    from zarrlake.convert import ConvertConfig

    assert (ROOT / "docs" / "convert-config.md").read_text() == config_help(
        ConvertConfig, "md"
    ) + "\n"


def test_readme_opens_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text().splitlines()
    block = readme[readme.index("```bash") + 1 : readme.index("```bash") + 3]
    assert block[0].startswith("make demo") and block[1].startswith("make test")
