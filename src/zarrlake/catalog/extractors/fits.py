"""FITS files: the primary header's keywords (astropy), plus a list of the HDUs."""

from __future__ import annotations

from typing import Any

from zarrlake._deps import require_dependency
from zarrlake.catalog.extractors.base import Extractor, RawObservation, Source
from zarrlake.errors import ExtractionError

# Structural keywords say how the bytes are laid out, not what was observed.
_STRUCTURAL = (
    "SIMPLE",
    "BITPIX",
    "NAXIS",
    "EXTEND",
    "PCOUNT",
    "GCOUNT",
    "COMMENT",
    "HISTORY",
    "CHECKSUM",
    "DATASUM",
)


class FitsExtractor(Extractor):
    """Primary-header keywords (MISSION, TELESCOP, INSTRUME, DATE-OBS, OBJECT, ...)."""

    name = "fits"
    version = "1"
    format = "fits"
    suffixes = (".fits", ".fit", ".fts", ".fits.gz")

    def read(self, source: Source) -> list[RawObservation]:
        """Read the primary header; extension headers fill keywords it lacks."""
        fits = require_dependency("astropy.io.fits", "fits")
        with source.open() as handle:
            try:
                hdul = fits.open(handle, memmap=False, lazy_load_hdus=False)
            except Exception as exc:
                raise ExtractionError(
                    f"{source.path} is not a readable FITS file: {exc}", subject=source.path
                ) from exc
            with hdul:
                attributes: dict[str, Any] = {}
                hdus = []
                for index, hdu in enumerate(hdul):
                    header = hdu.header
                    hdus.append(
                        {
                            "name": hdu.name,
                            "type": type(hdu).__name__,
                            "shape": list(getattr(hdu, "shape", ()) or ()),
                        }
                    )
                    for key, value in header.items():
                        if not key or key.startswith(_STRUCTURAL):
                            continue
                        if index == 0 or key not in attributes:
                            attributes[key] = value
        if not hdus:
            raise ExtractionError(f"{source.path} has no HDUs", subject=source.path)
        return [RawObservation(attributes, {}, {"hdus": hdus})]
