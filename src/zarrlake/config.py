"""Configuration sources shared by every part: files, dicts, merging, ``${ENV}``, help.

A configuration is built from an ordered list of sources (JSON or YAML files, local or
remote, and dicts), each merged into the previous one (nested mappings merge key by
key, everything else is replaced), then keyword overrides. Strings may reference
environment variables as ``${NAME}``, ``$NAME`` or ``${NAME:-default}`` (``$$`` is a
literal ``$``); a reference to an unset variable without a default is an error naming it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from zarrlake.errors import InvalidInputError, NotFoundError

__all__ = [
    "ConfigSource",
    "config_help",
    "load_config_file",
    "merge_configs",
    "substitute_env",
    "validation_error",
]

ConfigSource = str | os.PathLike[str] | Mapping[str, Any]
_ENV_PATTERN = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


def substitute_env(value: Any, *, where: str = "config") -> Any:
    """Replace ``${NAME}`` / ``$NAME`` / ``${NAME:-default}`` in every string of ``value``.

    As in zappend (Python's :class:`string.Template`): a bare ``$NAME`` takes the
    longest name of letters, digits and ``_``; ``$$`` is a literal ``$``; any other
    ``$`` is kept as it is. Unlike zappend, a reference to an unset variable is an
    error rather than left in place.

    Parameters
    ----------
    value
        A config value (nested dicts and lists are walked).
    where
        The config source, for error messages.

    Returns
    -------
    Any
        The value with references replaced.

    Raises
    ------
    InvalidInputError
        For a reference to an unset variable without a default.
    """
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            if match.group("escaped"):
                return "$"
            name = match.group("braced") or match.group("bare")
            default = match.group("default")
            if name in os.environ:
                return os.environ[name]
            if default is not None:
                return default
            raise InvalidInputError(
                f"{where} references the environment variable ${{{name}}}, which is not set",
                subject=name,
                hint=f"set {name}, write ${{{name}:-default}}, or $$ for a literal $",
            )

        return _ENV_PATTERN.sub(replace, value)
    if isinstance(value, Mapping):
        return {k: substitute_env(v, where=where) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute_env(v, where=where) for v in value]
    return value


def load_config_file(
    path: str | os.PathLike[str], storage_options: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Read one JSON or YAML config file (local path or fsspec URL).

    Parameters
    ----------
    path
        ``.json``, ``.yaml`` or ``.yml``; other names are tried as YAML (a superset of
        JSON).
    storage_options
        For remote URLs.

    Returns
    -------
    dict
        The parsed mapping, environment references substituted.

    Raises
    ------
    NotFoundError
        When the file does not exist.
    InvalidInputError
        When it is not valid JSON/YAML or not a mapping.
    """
    text_path = os.fspath(path)
    try:
        if "://" in text_path and not text_path.startswith("file://"):
            import fsspec

            with fsspec.open(text_path, "rt", **(storage_options or {})) as handle:
                text = handle.read()
        else:
            text = Path(text_path.removeprefix("file://")).read_text()
    except FileNotFoundError:
        raise NotFoundError(
            f"config file {text_path} does not exist", subject=text_path, hint="check the path"
        ) from None
    try:
        data = json.loads(text) if text_path.endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        kind = "JSON" if text_path.endswith(".json") else "YAML"
        raise InvalidInputError(
            f"config file {text_path} is not valid {kind}: {exc}",
            subject=text_path,
            hint="fix the syntax at the position named above",
        ) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInputError(
            f"config file {text_path} holds a {type(data).__name__}, not a mapping of options",
            subject=text_path,
        )
    return dict(substitute_env(data, where=f"config file {text_path}"))


def _deep_merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def merge_configs(
    sources: ConfigSource | Sequence[ConfigSource] | None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Merge config sources in order, then the keyword overrides.

    Parameters
    ----------
    sources
        A path/URL, a dict, ``None``, or a sequence of them.
    overrides
        Values that win over every source (``None`` values are ignored).

    Returns
    -------
    dict
        The merged raw configuration.
    """
    items: Iterable[ConfigSource]
    if sources is None:
        items = []
    elif isinstance(sources, (str, os.PathLike, Mapping)):
        items = [sources]
    else:
        items = sources
    merged: dict[str, Any] = {}
    for source in items:
        if isinstance(source, Mapping):
            data = dict(substitute_env(dict(source), where="config dict"))
        else:
            data = load_config_file(source)
        merged = _deep_merge(merged, data)
    if overrides:
        merged = _deep_merge(merged, {k: v for k, v in overrides.items() if v is not None})
    return merged


def validation_error(exc: ValidationError, *, where: str) -> InvalidInputError:
    """Turn a pydantic error into an :class:`InvalidInputError` naming each bad option.

    Parameters
    ----------
    exc
        The validation error.
    where
        What was being configured (for the message).

    Returns
    -------
    InvalidInputError
        With every problem as ``option.path: message``.
    """
    problems = []
    first = None
    for error in exc.errors():
        location = ".".join(str(p) for p in error["loc"]) or "(top level)"
        first = first or location
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown option"
        problems.append(f"{location}: {message}")
    return InvalidInputError(
        f"invalid {where}: " + "; ".join(problems),
        subject=first,
        hint="see --help-config for every option",
    )


def config_help(model: type[BaseModel], fmt: str = "md") -> str:
    """Document every option of a config model, as Markdown or JSON schema.

    Parameters
    ----------
    model
        The pydantic model.
    fmt
        ``md`` or ``json``.

    Returns
    -------
    str
        The documentation.
    """
    schema = model.model_json_schema()
    if fmt == "json":
        return json.dumps(schema, indent=2)
    if fmt != "md":
        raise InvalidInputError(
            f"unknown help format {fmt!r}", subject="--help-config", hint="use json or md"
        )
    lines = [f"# {schema.get('title', model.__name__)}", "", schema.get("description", ""), ""]
    definitions = schema.get("$defs", {})
    _describe(lines, schema, definitions, level=2)
    for name, definition in sorted(definitions.items()):
        lines += ["", f"## {name}", "", definition.get("description", ""), ""]
        _describe(lines, definition, definitions, level=3)
    return "\n".join(lines).replace("\n\n\n", "\n\n").strip() + "\n"


def _type_text(spec: Mapping[str, Any]) -> str:
    if "$ref" in spec:
        return str(spec["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in spec:
        return " | ".join(_type_text(s) for s in spec["anyOf"])
    if "enum" in spec:
        return " | ".join(json.dumps(v) for v in spec["enum"])
    if "const" in spec:
        return json.dumps(spec["const"])
    kind = spec.get("type", "any")
    if kind == "array":
        return f"list[{_type_text(spec.get('items', {}))}]"
    if kind == "object" and "additionalProperties" in spec:
        extra = spec["additionalProperties"]
        return f"dict[str, {_type_text(extra) if isinstance(extra, dict) else 'any'}]"
    return str(kind)


def _describe(
    lines: list[str], schema: Mapping[str, Any], definitions: Mapping[str, Any], level: int
) -> None:
    for name, spec in schema.get("properties", {}).items():
        default = spec.get("default", None)
        default_text = f" (default `{json.dumps(default)}`)" if "default" in spec else ""
        lines.append(f"- `{name}`: {_type_text(spec)}{default_text}")
        if spec.get("description"):
            lines.append(f"  {spec['description']}")
