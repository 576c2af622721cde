"""FITS files written card by card, as real missions write them (not as astropy would)."""

from __future__ import annotations

import bz2
import gzip
from pathlib import Path

import numpy as np

BLOCK = 2880


def card(text: str | bytes, encoding: str = "utf-8") -> bytes:
    """One 80-byte header card from its text (encoded as given, padded with spaces)."""
    data = text.encode(encoding) if isinstance(text, str) else text
    if len(data) > 80:
        raise ValueError(f"card longer than 80 bytes: {data!r}")
    return data.ljust(80, b" ")


def header(cards: list[str | bytes], *, end: bool = True, encoding: str = "utf-8") -> bytes:
    """A header of the given cards (``END`` appended unless ``end`` is false), padded."""
    blob = b"".join(card(c, encoding) for c in cards) + (card("END") if end else b"")
    return blob + b" " * (-len(blob) % BLOCK)


def primary(
    cards: list[str | bytes],
    *,
    shape: tuple[int, ...] = (),
    end: bool = True,
    encoding: str = "utf-8",
) -> bytes:
    """A primary HDU: SIMPLE/BITPIX/NAXIS for a float32 image of ``shape``, then ``cards``."""
    lead = ["SIMPLE  =                    T", "BITPIX  =                  -32"]
    lead.append(f"NAXIS   = {len(shape):>20}")
    lead += [f"NAXIS{i + 1:<3}= {n:>20}" for i, n in enumerate(reversed(shape))]
    data = np.zeros(shape, dtype=">f4").tobytes() if shape else b""
    data += b"\0" * (-len(data) % BLOCK)
    return header([*lead, *cards], end=end, encoding=encoding) + data


def extension(cards: list[str | bytes], name: str = "SCI") -> bytes:
    """An empty IMAGE extension with ``cards``."""
    lead = [
        "XTENSION= 'IMAGE   '",
        "BITPIX  =                  -32",
        "NAXIS   =                    0",
        "PCOUNT  =                    0",
        "GCOUNT  =                    1",
        f"EXTNAME = '{name}'",
    ]
    return header([*lead, *cards])


def write(path: Path, *hdus: bytes, compress: str | None = None) -> Path:
    """Write the HDUs' bytes to ``path`` (``compress``: ``gzip`` or ``bz2``)."""
    blob = b"".join(hdus)
    if compress is not None:
        blob = {"gzip": gzip.compress, "bz2": bz2.compress}[compress](blob)
    path.write_bytes(blob)
    return path
