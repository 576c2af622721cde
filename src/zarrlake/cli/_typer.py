"""The small layer zarrlake's CLI puts over typer: lazy command groups and plain help.

Three things typer 0.29 does not offer, kept in this one module:

* **Lazy commands.** A :class:`ZarrlakeGroup` can name commands by ``"module:attribute"``
  (a command function or a ``typer.Typer``) with their one-line help; the module is
  imported and the command built only when that command runs or shows its own help, so
  ``zarrlake append --help`` does not import or build ``convert`` and ``catalog``.
* **Coercion built on first use.** typer coerces every parameter's value, even ``None``
  or a string for a ``str`` option, through a pydantic ``TypeAdapter`` it builds on the
  spot; building the first one imports pydantic (~0.1 s here). Parameters of zarrlake's
  commands build that adapter only for a value that needs it, so ``--help`` and the
  group options' defaults never import pydantic. The coerced values are typer's own.
* **Plain types in help.** typer shows the type column as ``<list[str]>``, ``<bool>`` or
  ``<str>`` and ignores ``metavar`` for arguments; here it shows click's plain names
  (``TEXT``, ``INTEGER``, ``FLOAT``, ``PATH``, ``[a|b]`` for choices), an option's
  ``metavar`` where one is set (``KEY=VALUE``), and nothing for flags.

typer has no hook for the class of a parameter, so the parameters of zarrlake's commands
are given the subclasses below when their command is first resolved (``__class__``
assignment: the subclasses add methods only). typer is pinned (``typer==0.29.2``);
``tests/cli/test_help.py`` and ``tests/test_startup.py`` check this layer against it.
"""

from __future__ import annotations

import copy
import functools
import importlib
import inspect
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any, ClassVar, Protocol, get_args
from uuid import UUID

import typer
from typer import _click
from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param
from typer.core import MarkupMode, TyperArgument, TyperCommand, TyperGroup, TyperOption
from typer.models import CommandInfo

_TYPE_NAMES: dict[Any, str] = {
    str: "TEXT",
    int: "INTEGER",
    float: "FLOAT",
    bool: "BOOLEAN",
    Path: "PATH",
    datetime: "DATETIME",
    UUID: "UUID",
}


def plain_type(param: TyperOption | TyperArgument) -> str | None:
    """Return the click-style type label of a typer parameter (``None`` for a flag).

    Parameters
    ----------
    param
        A typer option or argument.

    Returns
    -------
    str or None
        ``TEXT``, ``INTEGER``, ``FLOAT``, ``PATH``, ``[a|b]`` for choices, ...; ``None``
        for a flag, which takes no value.
    """
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return None
    descriptor = param.type_descriptor
    if descriptor.is_choice:
        choices = descriptor.choices or ()
        return "[" + "|".join(str(c.value if isinstance(c, Enum) else c) for c in choices) + "]"
    if descriptor.is_file:
        return "FILENAME"
    if descriptor.is_path:
        return descriptor.path_type.upper()
    annotation: Any = descriptor.annotation
    if descriptor.is_tuple:
        return " ".join(_leaf_name(a) for a in get_args(annotation))
    if descriptor.is_list:
        annotation = get_args(annotation)[0]
    label = _leaf_name(annotation)
    return f"{label} RANGE" if descriptor.is_ranged else label


def _leaf_name(annotation: Any) -> str:
    if annotation in _TYPE_NAMES:
        return _TYPE_NAMES[annotation]
    if isinstance(annotation, type) and issubclass(annotation, Path):
        return "PATH"
    return str(getattr(annotation, "__name__", annotation)).upper()


@dataclass(frozen=True)
class _OnDemand(RuntimeParam):
    """typer's coercion of one parameter, built the first time a value needs it.

    ``RuntimeParam.coerce`` answers ``None`` (and ``()`` for a repeatable parameter)
    without calling ``_coerce_value``, so a missing value never builds the adapter; a
    ``str`` value of a plain ``str`` parameter is returned as is (typer's adapter for it
    is ``str(value)``, the identity on a ``str``).
    """

    descriptor: TypeDescriptor

    @functools.cached_property
    def _built(self) -> RuntimeParam:
        return build_runtime_param(self.descriptor)

    @functools.cached_property
    def _plain_str(self) -> bool:
        d = self.descriptor
        return (
            d.annotation is str
            and d.file_annotation is None
            and d.parameter_info.parser is None
            and not d.is_choice
        )

    def _coerce_value(self, value: Any, param: Any, ctx: _click.Context) -> Any:
        if isinstance(value, str) and self._plain_str:
            return value
        return self._built._coerce_value(value, param=param, ctx=ctx)


def _on_demand(param: TyperOption | TyperArgument) -> RuntimeParam:
    descriptor = param.type_descriptor
    return _OnDemand(
        parameter_info=descriptor.parameter_info,
        annotation=descriptor.annotation,
        descriptor=descriptor,
    )


class _Option(TyperOption):
    """typer's option with a plain type label and coercion built on first use."""

    def get_runtime_param(self) -> RuntimeParam:
        if self._runtime_param is None:
            self._runtime_param = _on_demand(self)
        return self._runtime_param

    def display_type_rich(self, ctx: _click.Context) -> str | None:
        if self.metavar is not None:
            return self.metavar  # as typer: an explicit metavar (KEY=VALUE) wins
        label = plain_type(self)
        if label is not None and self.nargs != 1:
            return label + "..."
        return label


class _Argument(TyperArgument):
    """typer's argument with a plain type label and coercion built on first use."""

    def get_runtime_param(self) -> RuntimeParam:
        if self._runtime_param is None:
            self._runtime_param = _on_demand(self)
        return self._runtime_param

    def display_type_rich(self, ctx: _click.Context) -> str | None:
        return plain_type(self)  # an argument's metavar is its name, not its type


def _adopt_param(param: _click.Parameter | None) -> None:
    # exact types only: a parameter already adopted, or one of another class, is left be
    if type(param) is TyperOption:
        param.__class__ = _Option
    elif type(param) is TyperArgument:
        param.__class__ = _Argument


def adopt(command: _click.Command, ctx: _click.Context | None = None) -> _click.Command:
    """Give a command's parameters (and, with ``ctx``, its ``--help``) zarrlake's classes.

    Parameters
    ----------
    command
        A command built by typer.
    ctx
        The parent's context; the help option is created with it (click caches it).

    Returns
    -------
    click.Command
        ``command`` itself.
    """
    for param in command.params:
        _adopt_param(param)
    if ctx is not None:
        _adopt_param(command.get_help_option(ctx))
    return command


class _Lazy(Protocol):
    """A command not built yet: how to build it, and what a help listing shows of it."""

    def load(self, name: str) -> _click.Command: ...

    def stub(self, name: str) -> _click.Command: ...


@dataclass(frozen=True)
class LazyCommand:
    """A command a group imports and builds only when it is used.

    Attributes
    ----------
    target
        ``"module:attribute"``: a command function or a ``typer.Typer`` (a sub-group).
    help
        The one line the parent's ``--help`` lists (the command's first paragraph).
    """

    target: str
    help: str

    def load(self, name: str) -> _click.Command:
        """Import the target and build its click command named ``name``."""
        module, _, attribute = self.target.partition(":")
        obj = getattr(importlib.import_module(module), attribute)
        if isinstance(obj, typer.Typer):
            command: _click.Command = lazy_typer_group(obj)
        else:
            single = typer.Typer(add_completion=False)
            single.command(name)(obj)
            command = typer.main.get_command(single)
        command.name = name
        return command

    def stub(self, name: str) -> _click.Command:
        """Return a stand-in with the name and help the parent's command list shows."""
        return TyperCommand(name, help=self.help)


@dataclass(frozen=True)
class _Registered:
    """A command registered on a ``typer.Typer`` (``@app.command``), built when used."""

    info: CommandInfo
    pretty_exceptions_short: bool
    rich_markup_mode: MarkupMode

    def load(self, name: str) -> _click.Command:
        return typer.main.get_command_from_info(
            self.info,
            pretty_exceptions_short=self.pretty_exceptions_short,
            rich_markup_mode=self.rich_markup_mode,
        )

    def stub(self, name: str) -> _click.Command:
        # what typer's listing reads of the built command, taken as typer takes it
        info = self.info
        return TyperCommand(
            name,
            help=inspect.cleandoc(info.help) if info.help else inspect.getdoc(info.callback),
            short_help=info.short_help,
            hidden=info.hidden,
            deprecated=info.deprecated,
            rich_help_panel=info.rich_help_panel,
        )


def lazy_typer_group(app: typer.Typer) -> TyperGroup:
    """Build ``app``'s click group as ``typer.main.get_group`` does, commands on first use.

    Building a command evaluates its signature's annotations and builds every parameter
    (~10 ms a command here); ``zarrlake catalog serve --help`` needs one of 13.

    Parameters
    ----------
    app
        A ``typer.Typer`` whose ``cls`` is :class:`ZarrlakeGroup` (or a subclass).

    Returns
    -------
    TyperGroup
        The group; its ``commands`` mapping builds each command when looked up.
    """
    shell = copy.copy(app)  # the group without its commands: those are added lazily
    shell.registered_commands = []
    group = typer.main.get_group(shell)
    if not isinstance(group, ZarrlakeGroup):
        raise TypeError(f"{app!r} needs typer.Typer(cls=ZarrlakeGroup, ...)")
    for info in app.registered_commands:
        callback = info.callback
        assert callback is not None, "a typer command has a callback"
        name = info.name or typer.main.get_command_name(callback.__name__)
        group.add_lazy_command(
            name,
            _Registered(info, app.pretty_exceptions_short, group.rich_markup_mode),
        )
    return group


class _Commands(MutableMapping[str, _click.Command]):
    """A group's commands by name; lazy ones are built on first lookup, in their order."""

    def __init__(self, lazy: Mapping[str, _Lazy], built: Mapping[str, _click.Command]):
        self.lazy = dict(lazy)
        self.built = {name: adopt(command) for name, command in built.items()}

    def __getitem__(self, name: str) -> _click.Command:
        if name not in self.built:
            if name not in self.lazy:
                raise KeyError(name)
            self.built[name] = adopt(self.lazy[name].load(name))
        return self.built[name]

    def __setitem__(self, name: str, command: _click.Command) -> None:
        self.built[name] = adopt(command)

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self.built.pop(name, None)
        self.lazy.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        yield from self.lazy
        yield from (name for name in self.built if name not in self.lazy)

    def __len__(self) -> int:
        return len(self.lazy.keys() | self.built.keys())

    def __contains__(self, name: object) -> bool:
        return name in self.lazy or name in self.built

    def listed(self, name: str) -> _click.Command | None:
        """Return the command as a help listing needs it: built if it is, else a stand-in."""
        if name in self.built:
            return self.built[name]
        lazy = self.lazy.get(name)
        return None if lazy is None else lazy.stub(name)


class ZarrlakeGroup(TyperGroup):
    """typer's group with lazy commands and zarrlake's parameters.

    Use as ``typer.Typer(cls=ZarrlakeGroup)``; :func:`lazy_group` makes a subclass
    whose :attr:`lazy_commands` are imported only when used.
    """

    lazy_commands: ClassVar[Mapping[str, LazyCommand]] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _Commands(self.lazy_commands, self.commands)
        self._listing = False

    def add_lazy_command(self, name: str, command: _Lazy) -> None:
        """Add a command that is built when first looked up."""
        commands = self.commands
        assert isinstance(commands, _Commands)
        commands.lazy[name] = command

    def get_params(self, ctx: _click.Context) -> list[_click.Parameter]:
        params = super().get_params(ctx)
        for param in params:
            _adopt_param(param)
        return params

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        commands = self.commands
        assert isinstance(commands, _Commands)
        if self._listing:
            return commands.listed(cmd_name)
        command = commands.get(cmd_name)
        return None if command is None else adopt(command, ctx)

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return list(self.commands)  # the names only: listing builds no lazy command

    def format_help(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        # the command list shows each command's name and first paragraph; a lazy
        # command's stand-in carries exactly those, so --help builds none of them
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


def lazy_group(name: str, commands: Mapping[str, LazyCommand]) -> type[ZarrlakeGroup]:
    """Return a :class:`ZarrlakeGroup` subclass whose lazy commands are ``commands``.

    typer builds the root group anew on every call of the app, from its ``cls``; the
    lazy commands therefore live on the class.

    Parameters
    ----------
    name
        The class name (for reprs).
    commands
        Command name -> :class:`LazyCommand`, in the order ``--help`` lists them.
    """
    return type(name, (ZarrlakeGroup,), {"lazy_commands": dict(commands)})


__all__ = ["LazyCommand", "ZarrlakeGroup", "adopt", "lazy_group", "lazy_typer_group", "plain_type"]
