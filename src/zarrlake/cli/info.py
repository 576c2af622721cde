"""``zarrlake info URL``: the tree of a Zarr store."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.tree import Tree

from zarrlake.cli._common import (
    StorageOptionArg,
    console,
    human_bytes,
    json_failure,
    parse_storage_options,
)

if TYPE_CHECKING:
    from zarrlake.meta import ArrayInfo, GroupInfo, StoreInfo


def info(
    url: Annotated[str, typer.Argument(help="Store URL: a path, file://, memory:// or s3://")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
    storage_option: StorageOptionArg = None,
) -> None:
    """Show the tree of a Zarr store: groups, arrays, chunks, codecs and stored bytes."""
    from zarrlake.meta import inspect_store

    with json_failure(as_json, lambda _: {"url": url}):
        report = inspect_store(url, storage_options=parse_storage_options(storage_option))
    if as_json:
        console.print_json(report.model_dump_json())
        return
    console.print(render_tree(report))


def render_tree(report: StoreInfo) -> Tree:
    """Build the rich tree ``zarrlake info`` prints.

    Parameters
    ----------
    report
        The store description.

    Returns
    -------
    rich.tree.Tree
        One node per group and array.
    """
    from zarrlake.meta import GroupInfo

    consolidated = "consolidated" if report.consolidated else "not consolidated"
    ratio = f", ratio {report.ratio:.2f}x" if report.ratio else ""
    tree = Tree(
        f"[bold]{escape(report.url)}[/] zarr v{report.zarr_format}, {consolidated}, "
        f"{report.n_groups + (1 if isinstance(report.root, GroupInfo) else 0)} group(s), "
        f"{report.n_arrays} array(s), {human_bytes(report.nbytes)} -> "
        f"{human_bytes(report.stored_bytes)} stored{ratio}"
    )
    _add(tree, report.root)
    return tree


def _add(tree: Tree, node: GroupInfo | ArrayInfo) -> None:
    from zarrlake.meta import ArrayInfo

    if isinstance(node, ArrayInfo):
        tree.add(_array_label(node))
        return
    name = node.path.rsplit("/", 1)[-1] if node.path else "/"
    branch = tree.add(f"[bold blue]{escape(name)}[/] group, {node.attributes} attribute(s)")
    for child in node.children:
        _add(branch, child)


def _array_label(node: ArrayInfo) -> str:
    name = node.path.rsplit("/", 1)[-1] if node.path else "(root array)"
    dims = ", ".join(
        f"{d}={s}" if d else str(s)
        for d, s in zip(node.dimension_names or (None,) * len(node.shape), node.shape, strict=False)
    )
    shards = f" shards {node.shards}" if node.shards else ""
    filters = f" filters {', '.join(node.filters)}" if node.filters else ""
    ratio = f" ({node.ratio:.2f}x)" if node.ratio else ""
    fill = str(node.fill_value)
    if node.cf_fill_value is not None:
        fill += f" (CF _FillValue {node.cf_fill_value})"
    return (
        f"[bold green]{escape(name)}[/] ({escape(dims)}) {node.dtype}  "
        f"chunks {node.chunks}{shards}  "
        f"{escape(node.compression)}{escape(filters)}  fill {escape(fill)}  "
        f"{human_bytes(node.nbytes)} -> {human_bytes(node.stored_bytes)}{ratio}  "
        f"written {node.chunks_written}/{node.chunks_total} chunks"
    )
