"""A command group that imports a command's module only when that command runs.

Every command module stands on the whole station (SQLAlchemy and the ORM tables, the
pydantic schemas, APScheduler, rich...): importing them all to print ``--help`` or to run
one command cost about a second (issue 15). The root group knows each command's name and
the first paragraph of its help, enough for the root ``--help`` listing; the module is
imported when the command itself (or its own ``--help``) is asked for, and turned into
click commands by Typer exactly as an eager ``register`` would have done.

tests/test_startup.py holds the listing here to the modules' own help (and to Typer's
output from an eagerly built app), so the two cannot drift apart.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, ClassVar

import typer
from typer.core import TyperCommand, TyperGroup


def register(module: ModuleType, app: typer.Typer) -> None:
    """The usual way a command module attaches its commands: ``module.register(app)``."""
    module.register(app)


@dataclass(frozen=True)
class LazyCommand:
    """One root command: its name, the module that defines it, and its help's first
    paragraph (what the root listing shortens to one line)."""

    name: str
    module: str
    help: str
    attach: Callable[[ModuleType, typer.Typer], None] = register


class LazyCommands(MutableMapping[str, Any]):
    """The group's ``commands``: every name is known; a command is built on first access,
    with every other command of its module (they are registered together)."""

    def __init__(
        self, specs: tuple[LazyCommand, ...], build: Callable[[LazyCommand], dict[str, Any]]
    ) -> None:
        self._specs = {spec.name: spec for spec in specs}
        self._build = build
        self._loaded: dict[str, Any] = {}
        self._modules: set[str] = set()

    def spec(self, name: str) -> LazyCommand | None:
        return self._specs.get(name)

    def loaded(self, name: str) -> Any | None:
        return self._loaded.get(name)

    def __getitem__(self, name: str) -> Any:
        if name not in self._loaded:
            spec = self._specs.get(name)
            if spec is None:
                raise KeyError(name)
            self._load_module(spec.module)
        return self._loaded[name]

    def _load_module(self, module: str) -> None:
        if module in self._modules:
            return
        self._modules.add(module)
        for spec in self._specs.values():
            if spec.module == module:
                built = self._build(spec)
                for name, command in built.items():
                    self._loaded.setdefault(name, command)

    def __setitem__(self, name: str, command: Any) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        self._specs.pop(name, None)
        del self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        yield from self._specs
        yield from (name for name in self._loaded if name not in self._specs)

    def __len__(self) -> int:
        return len(self._specs) + sum(1 for name in self._loaded if name not in self._specs)


class LazyGroup(TyperGroup):
    """A Typer group whose subcommands come from ``specs``, imported when invoked.

    Subclass it with ``specs`` set and pass it as ``typer.Typer(cls=...)``. The commands are
    built by a throwaway ``typer.Typer`` with the root's markup mode, so a command and its
    ``--help`` behave exactly as when the module was registered on the root app.
    """

    specs: ClassVar[tuple[LazyCommand, ...]] = ()

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        eager = dict(self.commands)
        self.commands = LazyCommands(self.specs, self._build)
        self.commands.update(eager)
        self._listing = False

    def _build(self, spec: LazyCommand) -> dict[str, Any]:
        """The click commands ``spec.module`` registers, keyed by name."""
        # ``__import__`` rather than importlib.import_module: the same import, but
        # ``python -X importtime`` then nests the module's own imports under it.
        __import__(spec.module)
        module = sys.modules[spec.module]
        holder = typer.Typer(
            rich_markup_mode=self.rich_markup_mode,
            suggest_commands=self.suggest_commands,
            add_completion=False,
            pretty_exceptions_enable=False,
        )
        spec.attach(module, holder)
        return dict(typer.main.get_group(holder).commands)

    def list_commands(self, ctx: typer.Context) -> list[str]:
        return list(self.commands)

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Any | None:
        if self._listing:
            return self._listed(cmd_name)
        return self.commands.get(cmd_name)

    def _listed(self, name: str) -> Any | None:
        """What the root listing shows for ``name``: the command if it is built, else a
        stand-in carrying its known help (nothing is imported)."""
        commands: LazyCommands = self.commands  # type: ignore[assignment]
        spec = commands.spec(name)
        loaded = commands.loaded(name)
        if loaded is not None or spec is None:
            return loaded if loaded is not None else commands.get(name)
        return TyperCommand(name=name, help=spec.help)

    def format_commands(self, ctx: typer.Context, formatter: Any) -> None:
        """Typer's own listing, from the known help: no command module is imported."""
        self._listing = True
        try:
            super().format_commands(ctx, formatter)
        finally:
            self._listing = False
