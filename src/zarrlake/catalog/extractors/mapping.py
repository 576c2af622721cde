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
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

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
        "time_coverage_start",
        "start_time",
    ],
    "observation_end": ["observation_end", "DATE-END", "DATE_END", "time_coverage_end", "end_time"],
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
        coordinate); attributes fill only what these leave open.
    config
        The mapping and quality rules.
    extra
        Structured facts that go into ``mission_specific`` as they are (variables, HDUs).

    Returns
    -------
    dict
        An observation record with ``mission_specific`` (unmapped attributes) and
        ``issues`` (missing required fields, unreadable values).
    """
    record: dict[str, Any] = dict(known)
    issues: list[dict[str, Any]] = list(record.pop("issues", []) or [])
    used: set[str] = set()

    def fill(names_for: Mapping[str, list[str]]) -> None:
        for field, names in names_for.items():
            if record.get(field) not in (None, ""):
                continue
            hit = _lookup(attributes, names)
            if hit is None:
                continue
            key, value = hit
            try:
                record[field] = _convert(field, value)
                used.add(key)
            except (InvalidInputError, ValueError, TypeError):
                issues.append(
                    {
                        "code": "unreadable_value",
                        "field": field,
                        "attribute": key,
                        "value": str(value)[:200],
                    }
                )

    fill({f: config.fields.get(f, []) + names for f, names in DEFAULT_FIELDS.items()})
    mission, rules = _mission_for(config, attributes, record.get("mission_id"))
    if rules is not None:
        saved = {f: record.pop(f) for f in rules.fields if f in record and f not in known}
        fill(rules.fields)
        for f, value in saved.items():
            record.setdefault(f, value)
        record["mission_id"] = mission
    record.setdefault("mission_id", "unknown")
    required = rules.required if rules and rules.required is not None else config.required
    for name in required:
        if record.get(name) in (None, "", "unknown"):
            issues.append({"code": "missing_field", "field": name})
    score = record.get("data_quality_score")
    if score is not None and not 0.0 <= score <= 1.0:
        issues.append({"code": "quality_out_of_range", "value": score})
        score = None
    if score is None:
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
    leftovers = {str(k): jsonable(v) for k, v in attributes.items() if k not in used}
    specific = dict(list(leftovers.items())[:MAX_EXTRA_KEYS])
    for key, value in specific.items():
        if isinstance(value, str) and len(value) > MAX_TEXT:
            specific[key] = value[:MAX_TEXT]
    if extra:
        specific.update(jsonable(dict(extra)))
    record["mission_specific"] = specific
    record["issues"] = issues
    return record


def _convert(field: str, value: Any) -> Any:
    if field in _TIMES:
        return to_utc_naive(_clean_time(value), field=field)
    if field in _NUMERIC:
        return float(value)
    if field == "processing_status":
        return str(value).lower()
    return str(jsonable(value)).strip()


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
