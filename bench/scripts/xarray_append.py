"""The script ``zarrlake append`` replaces: a ``to_zarr(append_dim="time")`` loop.

Usage: python xarray_append.py OUTPUT INPUT... (blosc zstd 3 with byte shuffle, Zarr
format 3; one chunk per slice, as the files hold them).
"""

import sys

import xarray as xr
from zarr.codecs import BloscCodec

output, *inputs = sys.argv[1:]
codec = BloscCodec(cname="zstd", clevel=3, shuffle="shuffle")
for index, path in enumerate(inputs):
    with xr.open_dataset(path) as ds:
        if index == 0:
            encoding = {name: {"compressors": [codec]} for name in ds.data_vars}
            ds.to_zarr(output, mode="w", encoding=encoding, zarr_format=3)
        else:
            ds.to_zarr(output, append_dim="time")
