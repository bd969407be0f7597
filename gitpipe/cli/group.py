"""The `gitpipe` click group: global options, how errors become messages and exit
codes, and the helpers every command module shares."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import click

from gitpipe import __version__
from gitpipe.cli import exits
from gitpipe.core.errors import debugging

if TYPE_CHECKING:
    from gitpipe.usecases.api import Project


_CUT_SHORT = "gitpipe.exit_code"


def settle_exit_code(ctx: click.Context, code: int) -> None:
    """The code the command exits with, said before it prints: a reader that
    leaves while it prints does not change it."""
    ctx.meta[_CUT_SHORT] = code


# The group's own flags, taken wherever they stand on the line: `gitpipe status -q`
# means what `gitpipe -q status` does, as git's and DVC's users expect.
_GLOBAL_FLAGS = frozenset({"-q", "--quiet", "-v", "--verbose", "--debug"})
_TAKES_VALUE = frozenset({"-C"})


def hoist_global_flags(args: list[str], commands: Any) -> list[str]:
    """`args` with the global flags that follow the command moved before it
    (none after a `--`, which ends the options)."""
    index = 0
    while index < len(args) and args[index] not in commands:
        index += 2 if args[index] in _TAKES_VALUE else 1
    if index >= len(args):
        return args
    end = args.index("--") if "--" in args[index:] else len(args)
    moved = [a for a in args[index + 1:end] if a in _GLOBAL_FLAGS]
    if not moved:
        return args
    kept = [a for a in args[index + 1:end] if a not in _GLOBAL_FLAGS]
    return [*args[:index], *moved, args[index], *kept, *args[end:]]


# The module under gitpipe/cli/ that registers each command, imported when the
# command is looked up: a command line loads its own command's module, not the
# other commands' and what they need (tests/unit/test_cli_homes.py checks the
# table against what the modules register).
COMMAND_HOMES = {
    "backfill": "pipeline", "dag": "pipeline", "init": "pipeline", "repro": "pipeline",
    "runs": "pipeline", "status": "pipeline", "validate": "pipeline",
    "checkout": "storage", "fetch": "storage", "fsck": "storage", "gc": "storage",
    "pull": "storage", "push": "storage",
    "commit": "gitcmds", "diff": "gitcmds", "exec": "gitcmds", "hooks": "gitcmds",
    "k8s": "gitcmds", "log": "gitcmds", "watch": "gitcmds",
    "import": "imports", "metrics": "values", "params": "values", "remote": "remotes",
    "report": "report", "verify": "verify", "monitor": "monitor", "remove": "stagecmds",
}


def load_commands(names: Any = None) -> None:
    """Register the commands `names` (every command when None) on the group."""
    homes = set(COMMAND_HOMES.values()) if names is None else \
        {COMMAND_HOMES[name] for name in names}
    for home in sorted(homes):
        importlib.import_module(f"gitpipe.cli.{home}")


class _Group(click.Group):
    """Loads a command's module when the command is looked up; turns
    GitpipeError into a one- or two-line message and its exit code."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            # An unknown name loads every command: click's "did you mean"
            # chooses among the registered ones.
            load_commands([cmd_name] if cmd_name in COMMAND_HOMES else None)
        return super().get_command(ctx, cmd_name)

    def resolve_command(self, ctx: click.Context,
                        args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            from gitpipe.cli.dvcnames import instead

            hint = instead(args[0]) if args else None
            if hint is None:
                raise
            # A DVC command: what gitpipe does instead, without click's near
            # miss, which names another command (`remove`: "Did you mean 'remote'?").
            raise click.UsageError(f"No such command {args[0]!r}.\n{hint}", exc.ctx) from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        load_commands()
        return super().list_commands(ctx)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_flags(args, COMMAND_HOMES))

    def invoke(self, ctx: click.Context) -> Any:
        debug = debugging()
        try:
            return super().invoke(ctx)
        except click.NoSuchOption as exc:
            raise _with_dvc_hint(exc) from None
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:
            # The reader left (`gitpipe status | head`): nothing more to say, and
            # the exit code is the one the command had settled on, as on the
            # quick door (cli/launch.py).
            exits.reader_left()
            ctx.exit(ctx.meta.get(_CUT_SHORT, 0))
        except KeyboardInterrupt:
            ctx.exit(exits.interrupted())
        except Exception as exc:
            if debug:
                raise
            from gitpipe.cli.console import ui_of

            ctx.exit(exits.failed(exc, ui_of(ctx)))


def _with_dvc_hint(exc: click.NoSuchOption) -> click.UsageError:
    """`exc`, with what gitpipe does instead where its option is DVC's."""
    from gitpipe.cli.dvcnames import option_instead

    command = exc.ctx.command_path.partition(" ")[2] if exc.ctx is not None else ""
    hint = option_instead(command, exc.option_name)
    if hint is None:
        return exc
    return click.UsageError(f"{exc.format_message()}\n{hint}", exc.ctx)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gitpipe")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.option("-C", "directory", default=".", type=click.Path(file_okay=False),
              help="Run as if started in this directory.")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors, warnings and results "
              "(no progress, stage output or summaries).")
@click.option("-v", "--verbose", is_flag=True, help="Print more: every stage's reasons, "
              "what was up to date, timings.")
@click.pass_context
def cli(ctx: click.Context, debug: bool, directory: str, quiet: bool, verbose: bool) -> None:
    """gitpipe: git-native reproducible pipelines."""
    from gitpipe.cli.console import set_ui

    if quiet and verbose:
        raise click.UsageError("-q and -v contradict each other; give one")
    ctx.obj = {"dir": directory, "debug": debug}
    set_ui(ctx, quiet, verbose)


def project_of(ctx: click.Context) -> Project:
    from gitpipe.cli.console import ui_of
    from gitpipe.cli.hashbar import HashingProgress
    from gitpipe.usecases.api import Project

    project = Project(ctx.find_root().obj["dir"])
    project.hash_progress = HashingProgress(ui_of(ctx))
    return project



def size_text(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(count)


def scope_names(ctx: click.Context, param: Any, value: Any) -> Any:
    """A `--scope` option's names, each checked before anything is read or
    written (a scope becomes part of a remote key)."""
    from gitpipe.core.errors import BadInputError
    from gitpipe.trust.signedruns import scope_problem

    for name in (value if isinstance(value, tuple) else (value,) if value else ()):
        problem = scope_problem(name)
        if problem:
            raise BadInputError(f"scope {name!r} {problem}",
                                hint="name scopes like pr-123 or nightly")
    return value
