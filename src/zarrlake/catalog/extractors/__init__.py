"""Metadata extractors, one module per format; more via ``zarrlake.extractors`` entry points."""

from zarrlake.catalog.extractors.base import (
    ENTRY_POINT_GROUP,
    EXTRACTORS,
    Extractor,
    RawObservation,
    Source,
    available_extractors,
    extract_source,
    extractor_for,
    register_extractor,
    supported_suffixes,
)
from zarrlake.catalog.extractors.csv_ import CsvExtractor
from zarrlake.catalog.extractors.fits import FitsExtractor
from zarrlake.catalog.extractors.hdf5 import Hdf5Extractor
from zarrlake.catalog.extractors.mapping import ExtractionConfig, MissionRules, default_quality
from zarrlake.catalog.extractors.netcdf_ import NetcdfExtractor
from zarrlake.catalog.extractors.zarr_ import ZarrExtractor

for _cls in (FitsExtractor, Hdf5Extractor, NetcdfExtractor, CsvExtractor, ZarrExtractor):
    register_extractor(_cls)

__all__ = [
    "ENTRY_POINT_GROUP",
    "EXTRACTORS",
    "CsvExtractor",
    "ExtractionConfig",
    "Extractor",
    "FitsExtractor",
    "Hdf5Extractor",
    "MissionRules",
    "NetcdfExtractor",
    "RawObservation",
    "Source",
    "ZarrExtractor",
    "available_extractors",
    "default_quality",
    "extract_source",
    "extractor_for",
    "register_extractor",
    "supported_suffixes",
]
