"""From file attributes to catalog fields: attribute mapping and quality scores.

Extractors read a file's attributes as they are (FITS keywords, HDF5/NetCDF/Zarr
attributes, CSV columns). :class:`ExtractionConfig` maps them to the catalog's fields:
each field has candidate attribute names, matched case-insensitively, first hit wins.
Missions can add their own candidates, required fields and quality function in YAML::

    required: [mission_id, satellite_name, instrument_type, observation_timestamp]
    missions:
      COSMOS-7:
        match: {TELESCOP: COSMOS-7}      # recognise files that carry no MISSION key
        fields: {target_object: [SRCNAME]}
        quality: mypackage.quality:score  # a function (record, attributes) -> float

A quality attribute that is present without a usable value (empty, NaN, not a number,
outside 0..1) leaves ``data_quality_score`` null with an issue; only a file with no
quality attribute at all is scored by the rule (or the configured function). Numbers
are taken as the decimal the writer gave (a float32 0.95 is 0.95, not 0.949999988);
``MJD-*`` attributes are Modified Julian Dates.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from zarrlake._deps import import_callable
from zarrlake.catalog._values import CALIBRATED_VALUES, jsonable, to_utc_naive
from zarrlake.errors import InvalidInputError

DEFAULT_FIELDS: dict[str, list[str]] = {
    "mission_id": ["mission_id", "MISSION", "project", "obs_collection"],
    "satellite_name": [
        "satellite_name",
        "TELESCOP",
        "telescope",
        "platform",
        "satellite",
        "facility_name",
    ],
    "instrument_type": ["instrument_type", "INSTRUME", "instrument", "sensor", "instrument_name"],
    "observation_timestamp": [
        "observation_timestamp",
        "DATE-OBS",
        "DATE_OBS",
        "DATE-BEG",
        "time_coverage_start",
        "start_time",
        "MJD-OBS",
        "MJD_OBS",
        "MJD-BEG",
    ],
    "observation_end": [
        "observation_end",
        "DATE-END",
        "DATE_END",
        "time_coverage_end",
        "end_time",
        "MJD-END",
    ],
    "target_object": ["target_object", "OBJECT", "target", "target_name"],
    "calibration_status": ["calibration_status", "CALIB", "calibration", "CALSTAT"],
    "version": ["version", "VERSION", "product_version", "data_version"],
    "data_quality_score": ["data_quality_score", "QUALITY", "quality_score"],
    "ra": ["ra", "RA", "RA_OBJ", "RA_TARG", "s_ra"],
    "dec": ["dec", "DEC", "DEC_OBJ", "DEC_TARG", "s_dec"],
    "processing_status": ["processing_status"],
}
"""Catalog field to the attribute names it is read from (case-insensitive, first wins)."""

REQUIRED_FIELDS = ["mission_id", "satellite_name", "instrument_type", "observation_timestamp"]
"""The original specification's required keywords (MISSION, TELESCOP, INSTRUME, DATE-OBS)."""

_NUMERIC = {"data_quality_score", "ra", "dec"}
_TIMES = {"observation_timestamp", "observation_end"}
_MJD_EPOCH = datetime(1858, 11, 17)
MAX_EXTRA_KEYS = 200
MAX_TEXT = 1000

QualityFunction = Callable[[Mapping[str, Any], Mapping[str, Any]], float]


class MissionRules(BaseModel):
    """Overrides for one mission."""

    model_config = ConfigDict(extra="forbid")

    match: dict[str, str] = Field(
        default_factory=dict,
        description="Attribute values that identify the mission's files when they carry "
        "no mission id (all must match, case-insensitive).",
    )
    fields: dict[str, list[str]] = Field(
        default_factory=dict, description="Extra attribute names per field, tried first."
    )
    required: list[str] | None = Field(None, description="Required fields of this mission.")
    quality: str | None = Field(
        None, description="module:function computing the quality score (0..1)."
    )
    calibrated_values: list[str] | None = Field(
        None, description="Calibration statuses that count as complete."
    )


class ExtractionConfig(BaseModel):
    """How attributes become catalog fields, for all missions and per mission."""

    model_config = ConfigDict(extra="forbid")

    fields: dict[str, list[str]] = Field(
        default_factory=dict, description="Extra attribute names per field."
    )
    required: list[str] = Field(default_factory=lambda: list(REQUIRED_FIELDS))
    quality: str | None = Field(None, description="module:function for every mission.")
    calibrated_values: list[str] = Field(default_factory=lambda: sorted(CALIBRATED_VALUES))
    missions: dict[str, MissionRules] = Field(default_factory=dict)

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(set(value) - set(DEFAULT_FIELDS))
        if unknown:
            raise ValueError(f"unknown catalog field(s) {unknown}; known: {sorted(DEFAULT_FIELDS)}")
        return value

    @classmethod
    def load(cls, path: str | Path | None) -> ExtractionConfig:
        """Read a YAML or JSON configuration file (``None``: the defaults).

        Raises
        ------
        InvalidInputError
            Naming the file and the option at fault.
        """
        if path is None:
            return cls()
        import yaml

        file = Path(path)
        try:
            data = yaml.safe_load(file.read_text()) or {}
        except OSError as exc:
            raise InvalidInputError(
                f"cannot read extraction config {file}: {exc.strerror}", subject=str(file)
            ) from exc
        except yaml.YAMLError as exc:
            raise InvalidInputError(
                f"extraction config {file} is not valid YAML: {exc}", subject=str(file)
            ) from exc
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InvalidInputError(
                f"extraction config {file}: {where}: {first['msg']}",
                subject=where or str(file),
                hint="see the catalog section of the README",
            ) from exc


def _lookup(attributes: Mapping[str, Any], names: list[str]) -> tuple[str, Any] | None:
    folded = {str(k).lower(): k for k in attributes}
    for name in names:
        key = folded.get(name.lower())
        if key is not None:
            value = attributes[key]
            if value is not None and not (isinstance(value, str) and not value.strip()):
                return key, value
    return None


def _mission_for(
    config: ExtractionConfig, attributes: Mapping[str, Any], mission: str | None
) -> tuple[str | None, MissionRules | None]:
    if mission and mission in config.missions:
        return mission, config.missions[mission]
    folded = {str(k).lower(): str(v).lower() for k, v in attributes.items()}
    for name, rules in config.missions.items():
        if rules.match and all(folded.get(k.lower()) == v.lower() for k, v in rules.match.items()):
            return name, rules
    return mission, None


def default_quality(
    record: Mapping[str, Any],
    _attributes: Mapping[str, Any],
    *,
    required: list[str],
    calibrated: set[str],
) -> float:
    """Score a record the original specification's way.

    Start at 1.0, take 0.2 off for each required field that is missing, add 0.1 when
    calibration is complete, and clamp to 0..1.
    """
    score = 1.0 - 0.2 * sum(1 for name in required if record.get(name) in (None, "", "unknown"))
    status = record.get("calibration_status")
    if status is not None and str(status).strip().upper() in calibrated:
        score += 0.1
    return max(0.0, min(1.0, round(score, 6)))


def load_function(spec: str) -> QualityFunction:
    """Import ``module:function`` (a configured quality function).

    Raises
    ------
    InvalidInputError
        When the module or function cannot be found.
    """
    return import_callable(spec, what="quality function", subject=spec)


def map_attributes(
    attributes: Mapping[str, Any],
    known: Mapping[str, Any],
    config: ExtractionConfig,
    *,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Build a catalog record from a file's attributes.

    Parameters
    ----------
    attributes
        Attribute name to value as read from the file.
    known
        Fields the extractor determined itself (file path, size, time coverage from a
        coordinate) and ``issues`` it found; attributes fill only what these leave open.
    config
        The mapping and quality rules.
    extra
        Structured facts that go into ``mission_specific`` as they are (variables, HDUs).

    Returns
    -------
    dict
        An observation record with ``mission_specific`` (unmapped attributes that have
        a value) and ``issues`` (missing required fields, unreadable values, a quality
        attribute without a usable value).

    Notes
    -----
    A quality attribute that is present but empty, NaN, not a number or outside 0..1
    gives ``data_quality_score = None`` and an issue: unknown quality is not scored.
    Only a file without any quality attribute gets the computed score.
    """
    record: dict[str, Any] = dict(known)
    issues: list[dict[str, Any]] = list(record.pop("issues", []) or [])
    used: set[str] = set()
    settled: set[str] = set()  # fields whose attribute was present but unusable

    def fill(field: str, names: list[str]) -> None:
        if record.get(field) not in (None, "") or field in settled:
            return
        hit = _lookup(attributes, names)
        if hit is None:
            if field == "data_quality_score":
                empty = _present(attributes, names)
                if empty is not None:
                    settled.add(field)
                    issues.append(_unknown_quality(empty, attributes[empty], "has no value"))
            return
        key, value = hit
        try:
            converted = _convert(field, key, value)
        except (InvalidInputError, ValueError, TypeError, OverflowError):
            issues.append(
                {
                    "code": "unreadable_value",
                    "field": field,
                    "attribute": key,
                    "value": str(value)[:200],
                }
            )
            if field == "data_quality_score":
                settled.add(field)
            return
        if field == "data_quality_score":
            if math.isnan(converted):
                settled.add(field)
                issues.append(_unknown_quality(key, value, "is NaN"))
                return
            if not 0.0 <= converted <= 1.0:
                settled.add(field)
                issues.append(
                    {
                        "code": "quality_out_of_range",
                        "field": field,
                        "attribute": key,
                        "value": str(value)[:200],
                    }
                )
                return
        record[field] = converted
        used.add(key)

    def names_for(field: str, rules: MissionRules | None) -> list[str]:
        mission_names = rules.fields.get(field, []) if rules else []
        return mission_names + config.fields.get(field, []) + DEFAULT_FIELDS.get(field, [])

    fill("mission_id", names_for("mission_id", None))
    mission, rules = _mission_for(config, attributes, record.get("mission_id"))
    mission_only = [f for f in (rules.fields if rules else {}) if f not in DEFAULT_FIELDS]
    for field in [*DEFAULT_FIELDS, *mission_only]:
        if field != "mission_id":
            fill(field, names_for(field, rules))
    if rules is not None:
        record["mission_id"] = mission
    record.setdefault("mission_id", "unknown")
    required = rules.required if rules and rules.required is not None else config.required
    for name in required:
        if record.get(name) in (None, "", "unknown"):
            issues.append({"code": "missing_field", "field": name})
    score = record.get("data_quality_score")
    if score is None and "data_quality_score" not in settled:
        spec = (rules.quality if rules else None) or config.quality
        calibrated = {
            v.upper()
            for v in ((rules.calibrated_values if rules else None) or config.calibrated_values)
        }
        if spec:
            score = float(load_function(spec)(record, attributes))
        else:
            score = default_quality(record, attributes, required=required, calibrated=calibrated)
    record["data_quality_score"] = score
    leftovers = {
        str(k): jsonable(v) for k, v in attributes.items() if k not in used and v is not None
    }
    specific = dict(list(leftovers.items())[:MAX_EXTRA_KEYS])
    for key, value in specific.items():
        if isinstance(value, str) and len(value) > MAX_TEXT:
            specific[key] = value[:MAX_TEXT]
    if extra:
        specific.update(jsonable(dict(extra)))
    record["mission_specific"] = specific
    record["issues"] = issues
    return record


def _present(attributes: Mapping[str, Any], names: list[str]) -> str | None:
    """Return the first of ``names`` present in ``attributes`` (whatever its value)."""
    folded = {str(k).lower(): k for k in attributes}
    for name in names:
        key = folded.get(name.lower())
        if key is not None:
            return str(key)
    return None


def _unknown_quality(key: str, value: Any, why: str) -> dict[str, Any]:
    return {
        "code": "unknown_quality",
        "field": "data_quality_score",
        "attribute": key,
        "value": None if value is None else str(value)[:200],
        "message": f"quality attribute {key!r} {why}; data_quality_score left unknown (null)",
    }


def _convert(field: str, key: str, value: Any) -> Any:
    if field in _TIMES:
        if str(key).upper().startswith("MJD"):
            return mjd_to_datetime(value)
        return to_utc_naive(_clean_time(value), field=field)
    if field in _NUMERIC:
        return header_float(value)
    if field == "processing_status":
        return str(value).lower()
    return str(jsonable(value)).strip()


def header_float(value: Any) -> float:
    """Return the number a header value means, as the decimal its writer gave.

    A float32 attribute written as ``0.95`` holds 0.949999988; its shortest decimal
    that reads back as the same float32 is ``0.95``, which is what is returned. Text is
    parsed (``"nan"`` gives NaN); booleans are refused.

    Raises
    ------
    TypeError
        For a boolean or a value that is not one number.
    ValueError
        For text that is not a number.
    """
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{value!r} is a boolean, not a number")
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise TypeError(f"an array of {value.size} values is not one number")
        value = value.reshape(())[()]
    if isinstance(value, np.floating) and value.dtype.itemsize < 8:
        return float(np.format_float_positional(value, unique=True))
    if isinstance(value, bytes):
        value = value.decode("ascii")
    if isinstance(value, str):
        value = value.strip()
    return float(value)


def mjd_to_datetime(value: Any) -> datetime:
    """Return the (naive UTC) time of a Modified Julian Date (``MJD-OBS``).

    Raises
    ------
    ValueError
        For a value that is not a finite number.
    """
    days = header_float(value)
    if not math.isfinite(days):
        raise ValueError(f"MJD {value!r} is not a finite number")
    return _MJD_EPOCH + timedelta(days=days)


def _clean_time(value: Any) -> Any:
    # FITS DATE-OBS may be a date only, or carry fractional seconds beyond microseconds.
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str):
        text = value.strip()
        if "." in text and "T" in text:
            head, _, frac = text.partition(".")
            digits = "".join(ch for ch in frac if ch.isdigit())
            rest = frac[len(digits) :]
            text = f"{head}.{digits[:6]}{rest}"
        return text
    return value
