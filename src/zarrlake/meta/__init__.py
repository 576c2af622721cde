"""Metadata health: inspection now; consolidate, validate, repair and backup build here."""

from zarrlake.meta.info import ArrayInfo, GroupInfo, StoreInfo, ainspect_store, inspect_store

__all__ = ["ArrayInfo", "GroupInfo", "StoreInfo", "ainspect_store", "inspect_store"]
