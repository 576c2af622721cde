"""HDF5 files: root attributes (h5py), with datasets' shapes and attributes as context.

Byte-string attributes are decoded as UTF-8, or as Latin-1 when they are not UTF-8
(listed under ``latin1_attributes``), as FITS headers are.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from zarrlake.catalog.extractors.base import Extractor, RawObservation, Source
from zarrlake.catalog.extractors.footprint import Variable, coordinate_footprint
from zarrlake.errors import ExtractionError

MAX_DATASETS = 100


class Hdf5Extractor(Extractor):
    """Root-group attributes; dataset names, shapes and dtypes in ``mission_specific``.

    Latitude and longitude datasets (by CF attributes or name) give the ACDD
    ``geospatial_*`` bounds when the root attributes lack them.
    """

    name = "hdf5"
    version = "3"  # 3: footprints from latitude/longitude datasets
    format = "hdf5"
    suffixes = (".hdf5", ".h5", ".he5", ".hdf")

    def read(self, source: Source) -> list[RawObservation]:
        """Read the root attributes and list the datasets (up to 100)."""
        import h5py

        with source.open() as handle:
            try:
                file = h5py.File(handle, "r")
            except Exception as exc:
                raise ExtractionError(
                    f"{source.path} is not a readable HDF5 file: {exc}", subject=source.path
                ) from exc
            with file:
                attributes: dict[str, Any] = {k: _value(v) for k, v in file.attrs.items()}
                latin1 = [k for k, v in file.attrs.items() if _is_latin1(v)]
                datasets: dict[str, Any] = {}
                offered: dict[str, Variable] = {}

                def visit(name: str, obj: Any) -> None:
                    if isinstance(obj, h5py.Dataset) and len(datasets) < MAX_DATASETS:
                        datasets[name] = {"shape": list(obj.shape), "dtype": str(obj.dtype)}
                        if obj.dtype.kind in "fiu":
                            attrs = {k: _value(v) for k, v in obj.attrs.items()}
                            reader = partial(_everything, obj)
                            offered[name] = Variable(attrs, int(obj.size), reader)

                file.visititems(visit)
                footprint = coordinate_footprint(_by_reference(offered), attributes)
        extra: dict[str, Any] = {"datasets": datasets, **footprint}
        if latin1:
            extra["latin1_attributes"] = latin1
        return [RawObservation(attributes, {}, extra)]


def _value(value: Any) -> Any:
    if isinstance(value, bytes | str):
        return _decode(value)[0]
    if getattr(value, "shape", None) == (1,):
        return _value(value[0])
    return value


def _is_latin1(value: Any) -> bool:
    if getattr(value, "shape", None) == (1,):
        value = value[0]
    return isinstance(value, bytes | str) and _decode(value)[1] == "latin-1"


def _decode(value: bytes | str) -> tuple[str, str]:
    """Return text and its encoding; h5py gives undecodable bytes as surrogate escapes."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return value, "utf-8"
        except UnicodeEncodeError:
            value = value.encode("utf-8", "surrogateescape")
    try:
        return value.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return value.decode("latin-1"), "latin-1"


def _everything(dataset: Any) -> Any:
    return dataset[()]


def _by_reference(offered: dict[str, Variable]) -> dict[str, Variable]:
    """Let a ``bounds`` attribute name a dataset by its full path or by its leaf name."""
    leaves = {name.rsplit("/", 1)[-1]: variable for name, variable in offered.items()}
    return {**leaves, **offered}
