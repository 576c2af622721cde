from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

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


def _nav_pages(entry: object) -> list[str]:
    if isinstance(entry, str):
        return [entry]
    if isinstance(entry, dict):
        return [page for value in entry.values() for page in _nav_pages(value)]
    if isinstance(entry, list):
        return [page for value in entry for page in _nav_pages(value)]
    return []


def test_every_docs_page_is_in_the_nav() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    nav = _nav_pages(config["nav"])
    pages = sorted(p.name for p in (ROOT / "docs").glob("*.md"))
    assert sorted(nav) == pages
    assert (ROOT / "docs" / "benchmarks.md").resolve() == ROOT / "bench" / "README.md"


def test_docs_build_strict(tmp_path: Path) -> None:
    """`mkdocs build --strict`: no broken link or anchor, no page outside the nav."""
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "index.html").exists()
    assert (tmp_path / "benchmarks" / "index.html").exists()


def test_readme_links_resolve() -> None:
    """README.md is read on its own (GitHub, PyPI): its relative links must exist."""
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", (ROOT / "README.md").read_text())
    assert links
    missing = [link for link in links if "://" not in link and not (ROOT / link).exists()]
    assert not missing
