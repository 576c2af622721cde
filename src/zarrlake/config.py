"""Configuration shared by every part: sources (files, dicts, ``${ENV}``), help, plugins.

A configuration is built from an ordered list of sources (JSON or YAML files, local or
remote, and dicts), each merged into the previous one (nested mappings merge key by
key, everything else is replaced), then keyword overrides. Strings may reference
environment variables as ``${NAME}``, ``$NAME`` or ``${NAME:-default}`` (``$$`` is a
literal ``$``); a reference to an unset variable without a default is an error naming it.

Plugins (storage backends, catalog extractors, validation rules) live in one kind of
:class:`Registry`: built-in entries are ``"module:attribute"`` strings imported on first
use, installed packages add entries through an entry-point group (read once per
process), and a name is never silently replaced.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from zarrlake.errors import (
    AlreadyExistsError,
    InvalidInputError,
    MissingDependencyError,
    NotFoundError,
)

__all__ = [
    "ConfigSource",
    "Registry",
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


T = TypeVar("T")


class Registry(Generic[T]):
    """Named plugins of one kind: built-ins, run-time registrations and entry points.

    Parameters
    ----------
    kind
        What the entries are, for messages (``storage backend``).
    group
        The entry-point group installed packages declare entries in.
    check
        Called with ``(name, object)`` when an entry is loaded; returns the object to
        keep or raises :class:`~zarrlake.errors.InvalidInputError` saying what is wrong.
    builtins
        Name to object, or to a ``"module:attribute"`` string imported on first use.
    install_hints
        Name to the command that installs what a built-in entry needs.
    """

    def __init__(
        self,
        kind: str,
        group: str,
        *,
        check: Callable[[str, Any], T],
        builtins: Mapping[str, T | str] | None = None,
        install_hints: Mapping[str, str] | None = None,
    ) -> None:
        self.kind = kind
        self.group = group
        self._check = check
        self._entries: dict[str, T | str] = dict(builtins or {})
        self._hints = dict(install_hints or {})
        self._lock = threading.RLock()
        self._entry_points_read = False

    def register(self, name: str, entry: T | str, *, replace: bool = False) -> None:
        """Add ``entry`` (an object, or a ``"module:attribute"`` string) as ``name``.

        Raises
        ------
        AlreadyExistsError
            When another entry has the name and ``replace`` is false.
        InvalidInputError
            When ``entry`` is not what this registry holds.
        """
        value = entry if isinstance(entry, str) else self._check(name, entry)
        with self._lock:
            current = self._entries.get(name)
            if current is not None and current is not value and current != value and not replace:
                raise AlreadyExistsError(
                    f"a {self.kind} named {name!r} is already registered "
                    f"({_describe_entry(current)})",
                    subject=name,
                    hint="choose another name, or pass replace=True",
                )
            self._entries[name] = value

    def copy(self) -> Registry[T]:
        """Return a registry with the same entries whose entry points are read anew."""
        twin: Registry[T] = Registry(
            self.kind, self.group, check=self._check, install_hints=self._hints
        )
        with self._lock:
            twin._entries = dict(self._entries)
        return twin

    def unregister(self, name: str) -> None:
        """Remove ``name`` (nothing happens when it is absent)."""
        with self._lock:
            self._entries.pop(name, None)

    def get(self, name: str) -> T:
        """Return the entry ``name``, importing it on first use.

        Raises
        ------
        NotFoundError
            When no built-in, registered or installed entry has the name.
        MissingDependencyError
            When a built-in entry needs a package that is not installed.
        """
        with self._lock:
            if name not in self._entries:
                self._read_entry_points()
            if name not in self._entries:
                raise NotFoundError(
                    f"no {self.kind} named {name!r}; available: {', '.join(self.names())}",
                    subject=name,
                    hint=f"install the package that provides it (entry point group {self.group!r})",
                )
            entry = self._entries[name]
            if isinstance(entry, str):
                entry = self._check(name, self._import(name, entry))
                self._entries[name] = entry
            return entry

    def names(self) -> list[str]:
        """Return every entry's name (installed plugins included), sorted."""
        with self._lock:
            self._read_entry_points()
            return sorted(self._entries)

    def loaded(self) -> dict[str, T]:
        """Return every entry by name, imported (an entry that cannot be imported raises)."""
        return {name: self.get(name) for name in self.names()}

    def _import(self, name: str, spec: str) -> Any:
        module_name, _, attribute = spec.partition(":")
        try:
            return getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            hint = self._hints.get(name)
            if isinstance(exc, ImportError) and hint is not None:
                raise MissingDependencyError(
                    f"the {self.kind} {name!r} needs {exc.name or 'a package'} "
                    "that is not installed",
                    subject=name,
                    hint=hint,
                ) from exc
            raise InvalidInputError(
                f"the {self.kind} {name!r} ({spec}) failed to load: {exc}",
                subject=name,
                hint="reinstall the package that provides it, or uninstall it",
            ) from exc

    def _read_entry_points(self) -> None:
        if self._entry_points_read:
            return
        self._entry_points_read = True
        for point in entry_points(group=self.group):
            if point.name not in self._entries:
                self._entries[point.name] = point.value  # imported when first asked for


def _describe_entry(entry: Any) -> str:
    if isinstance(entry, str):
        return entry
    return f"{getattr(entry, '__module__', '?')}.{getattr(entry, '__qualname__', repr(entry))}"
