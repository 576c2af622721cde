"""``validate``: run the rules over a store and build the report."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from zarr.abc.store import Store

from zarrlake.config import Registry
from zarrlake.encoding import describe_codecs
from zarrlake.errors import InvalidInputError, NotFoundError
from zarrlake.hierarchy import CONSOLIDATED_V2, awalk
from zarrlake.meta._report import Finding, Report
from zarrlake.meta._rules import BUILTIN_RULES, Context, Rule
from zarrlake.storage import open_store, run_sync, store_url
from zarrlake.storage.atomic import aread_bytes
from zarrlake.storage.listing import ahas_keys, alist_keys
from zarrlake.storage.protocol import INSIDE_PREFIX
from zarrlake.storage.sidecar import sidecar
from zarrlake.txn import JOURNAL_KEY, LockOptions, read_lock

__all__ = ["RULES", "plugin_rules", "register_rule", "validate"]


def _rule(name: str, rule: Any) -> Rule:
    if not callable(rule):
        raise InvalidInputError(
            f"validation rule {name!r} must be a function of a Context, got {rule!r}",
            subject=name,
            hint="a rule takes a zarrlake.meta.Context and yields Findings or strings",
        )
    return rule  # type: ignore[no-any-return]


RULES: Registry[Rule] = Registry("validation rule", "zarrlake.rules", check=_rule)
"""Rules that run on every validation besides the built-in ones: registered with
:func:`register_rule` or declared by installed packages (``zarrlake.rules`` entry points)."""


def register_rule(name: str, rule: Rule | str, *, replace: bool = False) -> None:
    """Run ``rule`` (or ``"module:function"``) in every validation of this process.

    Raises
    ------
    AlreadyExistsError
        When another rule has the name and ``replace`` is false.
    """
    RULES.register(name, rule, replace=replace)


def plugin_rules() -> list[Rule]:
    """Return the registered and installed rules (entry points are read once a process)."""
    return list(RULES.loaded().values())


def _as_finding(item: Finding | str, rule: Rule) -> Finding:
    if isinstance(item, Finding):
        return item
    name = getattr(rule, "__name__", "custom")
    return Finding(code=f"custom:{name}", severity="error", path="", message=str(item))


def validate(
    url: str | os.PathLike[str] | Store,
    *,
    deep: bool = False,
    rules: Sequence[Rule] | None = None,
    storage_options: Mapping[str, Any] | None = None,
    stale_after: float | None = None,
) -> Report:
    """Check a Zarr archive's metadata (and with ``deep``, its chunks).

    Parameters
    ----------
    url
        The archive's URL or an open store.
    deep
        Also list the chunk keys (never-written and orphan chunks) and decode every
        chunk.
    rules
        Extra rules (functions of a :class:`~zarrlake.meta._rules.Context` yielding
        :class:`Finding` or plain strings, which count as errors); rules from the
        ``zarrlake.rules`` entry points always run too.
    storage_options
        Options for remote stores.
    stale_after
        Seconds after which a lock counts as stale (default: the lock default).

    Returns
    -------
    Report
        A dict with ``valid``, ``has_consolidated``, ``consolidated_fresh``,
        ``zarr_format``, ``issues``, ``arrays`` and ``groups``.

    Raises
    ------
    NotFoundError
        When the URL holds no Zarr group or array at all.
    """
    store = open_store(url, mode="r", storage_options=storage_options)
    location = store_url(store)
    hierarchy = run_sync(awalk(store))
    if not hierarchy.nodes and not hierarchy.invalid:
        raise NotFoundError(
            f"no Zarr group or array at {location}", subject=location, hint="check the URL"
        )
    consolidated_v2 = (
        run_sync(aread_bytes(store, CONSOLIDATED_V2)) if hierarchy.zarr_format == 2 else None
    )
    side = sidecar(store)
    inside = run_sync(ahas_keys(store, INSIDE_PREFIX.rstrip("/"))) if not side.inside else False
    context = Context(
        store=store,
        url=location,
        hierarchy=hierarchy,
        consolidated_v2=consolidated_v2,
        journal=run_sync(aread_bytes(side.store, side.key(JOURNAL_KEY))),
        lock=run_sync(read_lock(store)),
        sidecar_url=side.location,
        inside_bookkeeping=inside,
        stale_after=stale_after or LockOptions().stale_after,
        deep=deep,
        keys=run_sync(alist_keys(store)) if deep else {},
    )
    findings: list[Finding] = []
    for rule in (*BUILTIN_RULES, *plugin_rules(), *(rules or [])):
        if not callable(rule):
            raise InvalidInputError(f"rule {rule!r} is not callable", subject="rules")
        findings.extend(_as_finding(item, rule) for item in _run_rule(rule, context))
    return _report(context, findings)


def _run_rule(rule: Rule, context: Context) -> Iterable[Finding | str]:
    return list(rule(context) or [])


def _report(context: Context, findings: list[Finding]) -> Report:
    hierarchy = context.hierarchy
    root = hierarchy.nodes.get("")
    codes = {f.code for f in findings}
    if root is not None and root.zarr_format == 2:
        has_consolidated = context.consolidated_v2 is not None
    else:
        has_consolidated = bool(root and (root.document.get("consolidated_metadata") or {}))
    by_path: dict[str, list[Finding]] = {}
    for finding in findings:
        by_path.setdefault(finding.path, []).append(finding)
    arrays = {}
    for path, node in sorted(hierarchy.arrays.items()):
        document = node.document
        if node.zarr_format == 3:
            chunks = document.get("chunk_grid", {}).get("configuration", {}).get("chunk_shape")
            dtype = document.get("data_type")
            compression = _v3_compression(document)
        else:
            chunks, dtype = document.get("chunks"), document.get("dtype")
            compression = _v2_compression(document)
        arrays[path] = {
            "shape": tuple(document.get("shape", ())),
            "dtype": str(dtype),
            "chunks": tuple(chunks or ()),
            "compression": compression,
            "attrs": dict(node.attributes),
            "issues": by_path.get(path, []),
        }
    groups = {
        (path or "/"): {"attrs": dict(node.attributes), "issues": by_path.get(path, [])}
        for path, node in sorted(hierarchy.groups.items())
    }
    return Report(
        url=context.url,
        valid=not any(f.severity == "error" for f in findings),
        has_consolidated=has_consolidated,
        consolidated_fresh=has_consolidated and not ({"ZL101", "ZL102"} & codes),
        zarr_format=hierarchy.zarr_format,
        issues=findings,
        arrays=arrays,
        groups=groups,
    )


def _v3_compression(document: Mapping[str, Any]) -> str:
    from zarr.registry import get_codec_class

    codecs = []
    for codec in document.get("codecs") or []:
        if not isinstance(codec, dict) or codec.get("name") in ("bytes", "transpose"):
            continue
        try:
            codecs.append(get_codec_class(codec["name"]).from_dict(codec))
        except (KeyError, TypeError, ValueError):
            return str(codec.get("name"))
    return str(describe_codecs(codecs))


def _v2_compression(document: Mapping[str, Any]) -> str:
    import numcodecs

    config = document.get("compressor")
    if config is None:
        return "none"
    try:
        return str(describe_codecs([numcodecs.get_codec(dict(config))]))
    except (ValueError, KeyError, TypeError):
        return str(config.get("id"))
