"""HDF5 files: root attributes (h5py), with datasets' shapes and attributes as context."""

from __future__ import annotations

from typing import Any

from zarrlake.catalog.extractors.base import Extractor, RawObservation, Source
from zarrlake.errors import ExtractionError

MAX_DATASETS = 100


class Hdf5Extractor(Extractor):
    """Root-group attributes; dataset names, shapes and dtypes in ``mission_specific``."""

    name = "hdf5"
    version = "1"
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
                datasets: dict[str, Any] = {}

                def visit(name: str, obj: Any) -> None:
                    if isinstance(obj, h5py.Dataset) and len(datasets) < MAX_DATASETS:
                        datasets[name] = {"shape": list(obj.shape), "dtype": str(obj.dtype)}

                file.visititems(visit)
        return [RawObservation(attributes, {}, {"datasets": datasets})]


def _value(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if getattr(value, "shape", None) == (1,):
        return _value(value[0])
    return value
