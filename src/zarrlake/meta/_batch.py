"""Run metadata operations over many stores: discovery, parallel runs, JUnit output."""

from __future__ import annotations

import glob
import os
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from zarrlake.errors import NotFoundError, ZarrlakeError
from zarrlake.hierarchy import CONSOLIDATED_V2, NODE_DOCUMENTS
from zarrlake.meta._report import Finding, Report
from zarrlake.storage.remote import expand_url, has_magic, is_remote, remote_filesystem
from zarrlake.storage.sidecar import is_sidecar_name

__all__ = ["StoreOutcome", "discover", "junit_xml", "run_many"]

_ROOT_DOCUMENTS = (*NODE_DOCUMENTS, CONSOLIDATED_V2)


def discover(
    patterns: Iterable[str], storage_options: Mapping[str, Any] | None = None
) -> list[str]:
    """Expand store patterns into store URLs.

    ``data/*.zarr`` (local globs) expand to matching folders, and so do remote globs
    (``s3://bucket/*.zarr``); ``s3://bucket/prefix/`` (a trailing slash) expands to the
    Zarr roots directly below that prefix (or to the prefix itself when it is a Zarr
    root), and so does a local folder that is not a store but holds stores; anything
    else is taken as one store. Remote patterns are expanded by
    :func:`zarrlake.storage.remote.expand_url`.

    Parameters
    ----------
    patterns
        Paths, globs or URLs.
    storage_options
        Options for remote discovery.

    Returns
    -------
    list of str
        Store URLs in a stable order, without duplicates.

    Raises
    ------
    NotFoundError
        When a glob or prefix matches no store.
    """
    found: list[str] = []
    for pattern in patterns:
        if is_remote(pattern) and (pattern.endswith("/") or has_magic(pattern)):
            matches = _discover_remote(pattern, storage_options)
        elif has_magic(pattern):
            matches = sorted(
                p for p in glob.glob(pattern) if os.path.isdir(p) and not is_sidecar_name(p)
            )
        else:
            matches = _archives_in(pattern) or [pattern]
        if not matches:
            raise NotFoundError(
                f"no Zarr store matches {pattern!r}", subject=pattern, hint="check the pattern"
            )
        found.extend(m for m in matches if m not in found)
    return found


def _is_local_root(folder: str) -> bool:
    return any(os.path.isfile(os.path.join(folder, d)) for d in _ROOT_DOCUMENTS)


def _archives_in(path: str) -> list[str]:
    """Return the Zarr roots directly in a local folder that is not a store itself."""
    folder = path.removeprefix("file://")
    if "://" in folder or not os.path.isdir(folder) or _is_local_root(folder):
        return []
    return sorted(
        os.path.join(folder, name)
        for name in os.listdir(folder)
        if os.path.isdir(os.path.join(folder, name)) and _is_local_root(os.path.join(folder, name))
    )


def _discover_remote(pattern: str, storage_options: Mapping[str, Any] | None) -> list[str]:
    if has_magic(pattern):  # like a local glob: every matching folder
        return [
            e.url
            for e in expand_url(pattern, storage_options)
            if e.is_dir and not is_sidecar_name(e.url)
        ]
    fs, root = remote_filesystem(pattern, storage_options)
    if any(fs.exists(f"{root.rstrip('/')}/{d}") for d in _ROOT_DOCUMENTS):
        return [pattern.rstrip("/")]  # a store: its groups and arrays are not stores
    roots = []
    for url in (e.url for e in expand_url(pattern, storage_options) if e.is_dir):
        name = url.split("://", 1)[1]
        if any(fs.exists(f"{name}/{d}") for d in _ROOT_DOCUMENTS):
            roots.append(url)
    return sorted(roots)


@dataclass
class StoreOutcome:
    """The result of one operation on one store."""

    url: str
    ok: bool
    summary: str
    report: Report | None = None
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def findings(self) -> list[Finding]:
        """The report's findings (none when the operation failed)."""
        return list(self.report["issues"]) if self.report is not None else []


def run_many(
    urls: list[str],
    operation: Callable[[str], StoreOutcome],
    *,
    jobs: int = 4,
    on_done: Callable[[StoreOutcome], None] | None = None,
) -> list[StoreOutcome]:
    """Run ``operation`` on every store with ``jobs`` threads; errors become outcomes.

    Parameters
    ----------
    urls
        Store URLs.
    operation
        The work for one store.
    jobs
        How many stores at once.
    on_done
        Called as each store finishes (for progress).

    Returns
    -------
    list of StoreOutcome
        In the order of ``urls``.
    """

    def safe(url: str) -> StoreOutcome:
        try:
            outcome = operation(url)
        except ZarrlakeError as exc:
            outcome = StoreOutcome(url=url, ok=False, summary=type(exc).__name__, error=str(exc))
        if on_done is not None:
            on_done(outcome)
        return outcome

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(safe, urls))


def junit_xml(outcomes: list[StoreOutcome], suite: str = "zarrlake.meta") -> bytes:
    """Render outcomes as JUnit XML: one test case per store, failures for errors.

    Parameters
    ----------
    outcomes
        The per-store outcomes.
    suite
        The test suite's name.

    Returns
    -------
    bytes
        The XML document.
    """
    failures = sum(not o.ok for o in outcomes)
    root = ET.Element("testsuites")
    node = ET.SubElement(
        root, "testsuite", name=suite, tests=str(len(outcomes)), failures=str(failures), errors="0"
    )
    for outcome in outcomes:
        case = ET.SubElement(node, "testcase", classname=suite, name=outcome.url)
        if not outcome.ok:
            problems = [str(f) for f in outcome.findings if f.severity == "error"]
            text = "\n".join(problems or [outcome.error or outcome.summary])
            failure = ET.SubElement(case, "failure", message=outcome.summary)
            failure.text = text
        others = [str(f) for f in outcome.findings if f.severity != "error"]
        if others:
            ET.SubElement(case, "system-out").text = "\n".join(others)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document
