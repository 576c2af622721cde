"""NetCDF 3/4 files: CF/ACDD global attributes and time coverage from the time coordinate."""

from __future__ import annotations

from functools import partial
from typing import Any

from zarrlake.catalog.extractors.base import Extractor, RawObservation, Source
from zarrlake.catalog.extractors.footprint import Variable, coordinate_footprint
from zarrlake.catalog.extractors.timecoords import coverage, is_time_variable
from zarrlake.errors import ExtractionError
from zarrlake.storage.classic import classic_shortfall, truncation_message

MAX_VARIABLES = 100


class NetcdfExtractor(Extractor):
    """Global attributes (ACDD ``time_coverage_*``, ``platform``, ``instrument``, ...).

    The time coordinate's first and last values give ``observation_timestamp`` and
    ``observation_end`` when present; otherwise ACDD attributes do. Latitude and
    longitude coordinates give the ACDD ``geospatial_*`` bounds when the attributes
    lack them (:mod:`~zarrlake.catalog.extractors.footprint`).
    """

    name = "netcdf"
    version = "3"  # 3: footprints from latitude/longitude coordinates
    format = "netcdf"
    suffixes = (".nc", ".nc4", ".netcdf", ".cdf")

    def read(self, source: Source) -> list[RawObservation]:
        """Read global attributes, variables and the time coverage."""
        import netCDF4

        try:
            if source.is_local:
                shortfall = classic_shortfall(source.local_path)
                if shortfall is None:
                    dataset = netCDF4.Dataset(source.local_path, "r")
            else:
                with source.open() as handle:
                    data = handle.read()
                shortfall = classic_shortfall(data)
                if shortfall is None:
                    dataset = netCDF4.Dataset(source.name, "r", memory=data)
        except Exception as exc:
            raise ExtractionError(
                f"{source.path} is not a readable NetCDF file: {exc}", subject=source.path
            ) from exc
        if shortfall is not None:
            # netCDF-C would read the missing values as zeros: a wrong time coverage
            raise ExtractionError(
                f"{source.path} {truncation_message(shortfall)}; copy it again",
                subject=source.path,
            )
        with dataset:
            dataset.set_auto_mask(False)
            attributes = {k: dataset.getncattr(k) for k in dataset.ncattrs()}
            known: dict[str, Any] = {}
            variables: dict[str, Any] = {}
            offered: dict[str, Variable] = {}
            for name, variable in dataset.variables.items():
                attrs = {k: variable.getncattr(k) for k in variable.ncattrs()}
                offered[name] = Variable(attrs, int(variable.size), partial(_everything, variable))
                if len(variables) < MAX_VARIABLES:
                    variables[name] = {
                        "dims": list(variable.dimensions),
                        "shape": list(variable.shape),
                        "dtype": str(variable.dtype),
                        "units": attrs.get("units"),
                    }
                if "observation_timestamp" not in known and is_time_variable(
                    name, attrs, variable.ndim
                ):
                    variable.set_auto_scale(False)
                    start, end = coverage(variable[:], str(attrs["units"]), attrs.get("calendar"))
                    if start is not None:
                        known["observation_timestamp"] = start
                        known["observation_end"] = end
            dims = {name: len(dim) for name, dim in dataset.dimensions.items()}
            extra = {"dimensions": dims, "variables": variables}
            extra.update(coordinate_footprint(offered, attributes))
        return [RawObservation(attributes, known, extra)]


def _everything(variable: Any) -> Any:
    return variable[...]
