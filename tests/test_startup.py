"""Start-up: ``import zarrlake``, ``zarrlake --version`` and every ``--help`` stay light.

Each check runs in a fresh interpreter and asserts which modules are *not* imported
(not how long it took: timings belong to ``python -m bench startup``). A command's
``--help`` must not import the libraries its work needs (xarray, zarr, numpy, pandas,
dask, SQLAlchemy, FastAPI, pydantic...), nor zarrlake's packages that import them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import typer

from tests.subprocesses import ROOT

# libraries a command's work imports; none is needed to print help
HEAVY = (
    "xarray",
    "dask",
    "pandas",
    "zarr",
    "numpy",
    "numcodecs",
    "sqlalchemy",
    "fastapi",
    "starlette",
    "uvicorn",
    "pydantic",
    "fsspec",
    "h5py",
    "h5netcdf",
    "netCDF4",
    "yaml",
    "psutil",
)
# zarrlake's own packages behind the commands (they import the libraries above)
IMPLEMENTATION = (
    "zarrlake.append",
    "zarrlake.catalog",
    "zarrlake.compat",
    "zarrlake.config",
    "zarrlake.convert",
    "zarrlake.meta",
    "zarrlake.storage",
    "zarrlake.hierarchy",
    "zarrlake.txn",
)


# the probes' common start: ``loaded(names)`` lists those of ``names`` that are imported
# (a package is in sys.modules as soon as any of its modules is)
PRELUDE = """
import contextlib, io, json, sys
def loaded(names):
    return sorted(name for name in names if name in sys.modules)
"""


def _fresh(code: str) -> dict[str, list[str]]:
    """Run ``code`` in a new interpreter; it prints a JSON object as its last line."""
    result = subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.splitlines()[-1]))


def _command_paths() -> list[list[str]]:
    from zarrlake.cli import app

    def walk(command: object, path: list[str]) -> list[list[str]]:
        found = [path]
        commands = getattr(command, "commands", {})
        for name in commands:
            found += walk(commands[name], [*path, name])
        return found

    return walk(typer.main.get_command(app), [])


def test_import_zarrlake_imports_no_library() -> None:
    found = _fresh(
        f"""
        import zarrlake, zarrlake.cli, zarrlake.errors
        print(json.dumps({{"heavy": loaded({(*HEAVY, "typer", "rich")!r})}}))
        """
    )
    assert found["heavy"] == []


def test_version_imports_neither_typer_nor_libraries() -> None:
    found = _fresh(
        f"""
        from zarrlake.cli import main
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            try:
                main(["--version"])
            except SystemExit as exit:
                assert exit.code == 0, exit.code
        assert out.getvalue().startswith("zarrlake "), out.getvalue()
        print(json.dumps({{"heavy": loaded({(*HEAVY, "typer", "rich")!r})}}))
        """
    )
    assert found["heavy"] == []


def test_version_output_is_the_option_output() -> None:
    """The fast path prints what the typer option prints (``--version`` after others)."""
    from tests.subprocesses import run_zarrlake

    fast = run_zarrlake("--version")
    typer_path = run_zarrlake("--log-format", "text", "--version")
    assert fast.returncode == typer_path.returncode == 0
    assert fast.stdout == typer_path.stdout
    assert fast.stdout.startswith("zarrlake ")


def test_help_of_every_command_imports_no_library() -> None:
    """``--help`` of the root, every group and every command, one interpreter for all.

    After each ``--help`` the probe records the heavy modules that appeared, so a
    failure names the first command that imported each.
    """
    paths = _command_paths()
    assert len(paths) > 25  # root, 3 commands, 3 groups and their commands
    found = _fresh(
        f"""
        from zarrlake.cli import main
        seen, first = set(), {{}}
        for path in {paths!r}:
            with contextlib.redirect_stdout(io.StringIO()) as out:
                try:
                    main([*path, "--help"])
                except SystemExit as exit:
                    assert exit.code == 0, (path, exit.code)
            assert "Usage:" in out.getvalue(), path
            now = set(loaded({(*HEAVY, *IMPLEMENTATION)!r}))
            for name in now - seen:
                first[name] = " ".join(["zarrlake", *path, "--help"])
            seen |= now
        print(json.dumps(first))
        """
    )
    assert found == {}, f"imported by --help (module: first command): {found}"


@pytest.mark.parametrize(
    "args",
    [["append", "--help"], ["convert", "run", "--help"], ["catalog", "serve", "--help"]],
)
def test_help_builds_only_the_command_it_shows(args: list[str]) -> None:
    """``zarrlake append --help`` imports no other command's module."""
    modules = ("zarrlake.cli.info", "zarrlake.cli.append", "zarrlake.cli.meta")
    modules += ("zarrlake.cli.convert", "zarrlake.cli.catalog")
    found = _fresh(
        f"""
        from zarrlake.cli import main
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                main({args!r})
            except SystemExit as exit:
                assert exit.code == 0, exit.code
        print(json.dumps({{"cli": sorted(m for m in sys.modules if m in {modules!r})}}))
        """
    )
    assert found["cli"] == [f"zarrlake.cli.{args[0]}"]


def test_append_and_convert_runs_import_no_dask_array(tmp_path) -> None:
    # dask.array (with scipy.sparse and dask.array.fft) costs 0.5-1 CPU s to import;
    # xarray's slow path for building a Variable imports it only to look for masked
    # dask arrays, and neither command uses dask arrays. CMOR-style files (noleap,
    # packed int16, time and lat/lon bounds) take the most paths through both.
    from tests.cfdata import write_series

    paths = write_series(tmp_path / "in", "noleap", "6h", 2, 4)
    for args in (
        ["append", *paths, "-t", str(tmp_path / "a.zarr")],
        ["convert", "run", *paths, "-O", str(tmp_path / "c.zarr")],
    ):
        found = _fresh(
            f"""
            from zarrlake.cli import main
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    main({args!r})
            except SystemExit as stop:
                assert not stop.code, stop.code
            print(json.dumps({{"heavy": loaded(["dask.array", "scipy"]), "ran": loaded(["zarr"])}}))
            """
        )
        assert found == {"heavy": [], "ran": ["zarr"]}, args
