"""What a user asks of CF packing: one settings model for convert and append.

A :class:`PackingSpec` says how wide the integers are (``bits`` 8/16/32, or the same
spelled ``dtype`` int8/int16/int32 as zappend does), where the range comes from, and what
happens to values outside it. :meth:`PackingSpec.resolve` turns it into the
:class:`~zarrlake.encoding.Packing` of one variable, taking the range from the first
of these that exists:

1. ``valid_min``/``valid_max`` given in the spec;
2. the variable's ``valid_range`` attribute, then its ``valid_min``/``valid_max``;
3. a range found in the data by the caller (convert scans its inputs), widened by
   ``margin`` times its width on each side;

and otherwise refuses, naming the variable. Nothing is guessed from one file unless the
caller scanned for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from zarrlake.encoding._packing import Packing, choose_packing, packing_from_attrs
from zarrlake.errors import InvalidInputError

__all__ = ["PackingSpec"]

_DTYPE_BITS = {"int8": 8, "int16": 16, "int32": 32}


class PackingSpec(BaseModel):
    """CF packing of a float variable into integers over a range fixed for the archive."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    bits: Literal[8, 16, 32] = Field(16, description="packed integer size in bits")
    dtype: Literal["int8", "int16", "int32"] | None = Field(
        None,
        description="the packed integer type: the same as bits, spelled as zappend does "
        "(give one of the two)",
    )
    valid_min: float | None = Field(
        None,
        description="lower end of the range (default: the variable's valid_range or "
        "valid_min/valid_max attributes; convert: else the inputs' minimum found by a scan)",
    )
    valid_max: float | None = Field(None, description="upper end of the range (as valid_min)")
    out_of_range: Literal["error", "clip", "mask"] = Field(
        "error", description="what to do with values outside the range"
    )
    margin: float = Field(
        0.0,
        ge=0,
        description="widen a range found in the data (not a given or declared one) by this "
        "fraction of its width on each side, so later files with more extreme values still "
        "fit (e.g. 0.2 for a template made from one year of a multi-year archive)",
    )

    @model_validator(mode="after")
    def _consistent(self) -> PackingSpec:
        if (self.valid_min is None) != (self.valid_max is None):
            raise ValueError("give both valid_min and valid_max, or neither")
        if self.dtype is not None:
            bits = _DTYPE_BITS[self.dtype]
            if "bits" in self.model_fields_set and bits != self.bits:
                raise ValueError(
                    f"bits={self.bits} and dtype={self.dtype!r} disagree; give one of the two"
                )
            self.bits = bits  # type: ignore[assignment]  # one of the Literal values
        self.dtype = f"int{self.bits}"  # type: ignore[assignment]
        return self

    def resolve(
        self,
        attrs: Mapping[str, Any],
        *,
        data_range: tuple[float, float] | None = None,
        unpacked_dtype: str = "float32",
        name: str = "values",
        where: str | None = None,
    ) -> Packing:
        """Return the packing of one variable (the range in the order of the module doc).

        Parameters
        ----------
        attrs
            The variable's attributes (``valid_range``, ``valid_min``, ``valid_max``).
        data_range
            The minimum and maximum found in the data, when the caller scanned it.
        unpacked_dtype
            ``float32`` or ``float64``: the precision of scale and offset.
        name
            The variable name, for messages.
        where
            The config key of these settings, for messages.

        Returns
        -------
        Packing
            The packing parameters.

        Raises
        ------
        InvalidInputError
            When no range is known, or the range is empty or not finite.
        """
        if self.valid_min is not None and self.valid_max is not None:
            low, high = self.valid_min, self.valid_max
        else:
            declared = packing_from_attrs(
                attrs, self.bits, unpacked_dtype=unpacked_dtype, name=name
            )
            if declared is not None:
                return declared
            if data_range is None:
                raise InvalidInputError(
                    f"variable {name!r}: packing needs a fixed range and none is known",
                    subject=where or name,
                    hint="give valid_min and valid_max in the packing settings, or set the "
                    "variable's valid_min/valid_max attributes",
                )
            low, high = data_range
            if high <= low:  # a constant field still needs a non-empty range
                high = low + 1.0
            widen = (high - low) * self.margin
            low, high = low - widen, high + widen
        return choose_packing(low, high, self.bits, unpacked_dtype=unpacked_dtype, name=name)
