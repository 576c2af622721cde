"""Zarr archives: one record per archive, from its (consolidated) attributes."""

from __future__ import annotations

from functools import partial
from typing import Any

from zarrlake.catalog.extractors.base import Extractor, RawObservation, Source
from zarrlake.catalog.extractors.footprint import Variable, coordinate_footprint
from zarrlake.catalog.extractors.timecoords import coverage, is_time_variable
from zarrlake.errors import ExtractionError

MAX_VARIABLES = 200


class ZarrExtractor(Extractor):
    """Root attributes, time coverage and a per-variable summary of a Zarr archive.

    Works on Zarr format 2 and 3, local folders and ``s3://`` prefixes; uses the
    consolidated metadata when there is some (one read), else reads the documents.
    Latitude and longitude coordinates give the ACDD ``geospatial_*`` bounds when the
    attributes lack them.
    """

    name = "zarr"
    version = "3"  # 3: footprints from latitude/longitude coordinates
    format = "zarr"
    suffixes = (".zarr",)
    is_directory_format = True

    def read(self, source: Source) -> list[RawObservation]:
        """Read the root group's attributes and summarise its arrays."""
        import zarr

        from zarrlake.storage import open_store

        try:
            store = open_store(source.path, mode="r", storage_options=source.storage_options)
            root = zarr.open_group(store, mode="r")
        except Exception as exc:
            raise ExtractionError(
                f"{source.path} is not a readable Zarr archive: {exc}", subject=source.path
            ) from exc
        attributes = dict(root.attrs)
        known: dict[str, Any] = {}
        variables: dict[str, Any] = {}
        offered: dict[str, Variable] = {}
        for name, array in root.arrays():
            attrs = dict(array.attrs)
            offered[name] = Variable(attrs, int(array.size), partial(_everything, array))
            names = attrs.get("_ARRAY_DIMENSIONS") or getattr(
                array.metadata, "dimension_names", None
            )
            dims = [str(d) for d in names] if isinstance(names, list | tuple) else []
            if len(variables) < MAX_VARIABLES:
                variables[name] = {
                    "dims": dims,
                    "shape": list(array.shape),
                    "dtype": str(array.dtype),
                    "chunks": list(array.chunks),
                    "units": attrs.get("units"),
                }
            if (
                "observation_timestamp" not in known
                and is_time_variable(name, attrs, array.ndim)
                and array.size > 0
            ):
                calendar = attrs.get("calendar")
                start, end = coverage(
                    array[...], str(attrs["units"]), str(calendar) if calendar else None
                )
                if start is not None:
                    known["observation_timestamp"] = start
                    known["observation_end"] = end
        extra = {"zarr_format": root.metadata.zarr_format, "variables": variables}
        extra.update(coordinate_footprint(offered, attributes))
        return [RawObservation(attributes, known, extra)]


def _everything(array: Any) -> Any:
    return array[...]
