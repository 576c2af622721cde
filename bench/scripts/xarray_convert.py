"""The script ``zarrlake convert run`` replaces: open_mfdataset, rechunk, to_zarr.

Usage: python xarray_convert.py OUTPUT INPUT... (chunks 30 x 361 x 720, blosc zstd 3
with byte shuffle, Zarr format 3, consolidated; dask's threaded scheduler).
"""

import sys

import xarray as xr
from zarr.codecs import BloscCodec

output, *inputs = sys.argv[1:]
chunks = {"time": 30, "latitude": 361, "longitude": 720}
ds = xr.open_mfdataset(inputs, combine="by_coords").chunk(chunks)
codec = BloscCodec(cname="zstd", clevel=3, shuffle="shuffle")
encoding = {name: {"compressors": [codec]} for name in ds.data_vars}
ds.to_zarr(output, mode="w", encoding=encoding, zarr_format=3, consolidated=True)
