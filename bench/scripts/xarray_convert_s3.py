"""The xarray script ``zarrlake convert run`` replaces, writing to an S3 endpoint.

Usage: python xarray_convert_s3.py ENDPOINT OUTPUT_URL CHUNKS SHARDS INPUT...
CHUNKS and SHARDS are ``time,lat,lon`` sizes (SHARDS ``none``: one object per chunk);
credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
"""

import os
import sys

import xarray as xr
from zarr.codecs import BloscCodec

endpoint, output, chunk_text, shard_text, *inputs = sys.argv[1:]
dims = ("time", "latitude", "longitude")
chunks = dict(zip(dims, map(int, chunk_text.split(",")), strict=True))
shards = None if shard_text == "none" else tuple(map(int, shard_text.split(",")))
options = {
    "endpoint_url": endpoint,
    "key": os.environ["AWS_ACCESS_KEY_ID"],
    "secret": os.environ["AWS_SECRET_ACCESS_KEY"],
}
ds = xr.open_mfdataset(inputs, combine="by_coords")
# dask chunks must not split a shard: the write unit is the shard when there is one
ds = ds.chunk(dict(zip(dims, shards, strict=True)) if shards else chunks)
codec = BloscCodec(cname="zstd", clevel=3, shuffle="shuffle")
encoding = {}
for name in ds.data_vars:
    encoding[name] = {"compressors": [codec], "chunks": tuple(chunks.values())}
    if shards:
        encoding[name]["shards"] = shards
ds.to_zarr(
    output, mode="w", encoding=encoding, zarr_format=3, consolidated=True, storage_options=options
)
