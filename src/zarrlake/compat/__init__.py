"""The original tools' names, as thin layers over zarrlake's parts.

Each module offers the public API of one tool that zarrlake replaces, so that its
documented examples run with only the import changed:

- :mod:`zarrlake.compat.zarrio`: ``ZarrConverter`` and its config models (over
  :mod:`zarrlake.convert`);
- :mod:`zarrlake.compat.zappend`: ``zappend(slices, config, **kwargs)`` (over
  :mod:`zarrlake.append`);
- :mod:`zarrlake.compat.zarr_utils`: ``consolidate_metadata``, ``validate_metadata``,
  ``repair_metadata``, ``list_zarr_arrays`` (over :mod:`zarrlake.meta`);
- :mod:`zarrlake.compat.polystore`: ``ZarrStorageBackend``, ``ZarrConfig``,
  ``get_backend_instance`` (over :mod:`zarrlake.backends`);
- :mod:`zarrlake.compat.catalog`: the observation catalog document's ``CatalogClient``,
  ``MetadataExtractor``, ``CatalogIngestManager``, ``CatalogQueryInterface`` (over
  :mod:`zarrlake.catalog`).

The behaviour is zarrlake's (transactions, exact encodings, errors that name the thing
at fault); where the original tools had defects, these names do not reproduce them. The
short names users type most (``zarrlake.ZarrConverter``, ``zarrlake.zappend``,
``zarrlake.consolidate_metadata``, ...) are re-exported at the top level. Nothing below
:mod:`zarrlake.compat` imports it.
"""
