"""`gitpipe monitor start|stop|status`: the opt-in file-system monitor
(usecases/monitorctl.py), which lets a no-op status skip its stat calls.

Registered on the `cli` group when the group first looks `monitor` up.
"""

from __future__ import annotations

from pathlib import Path

import click

from gitpipe.cli.group import cli


def _root(ctx: click.Context) -> str:
    from gitpipe.project.root import find_root

    return str(find_root(Path(ctx.find_root().obj["dir"])))


@cli.group("monitor")
def monitor_group() -> None:
    """A file-system monitor for this repository (Linux, opt-in): while it
    runs, a no-op status answers from its seal without a stat call per input.

    It watches the work tree with inotify and runs until stopped; it is
    never started by anything in a repository. See
    docs/explanation/staleness.md for what it can and cannot see."""


@monitor_group.command("start")
@click.pass_context
def monitor_start(ctx: click.Context) -> None:
    """Start watching this repository (nothing if a monitor runs already)."""
    from gitpipe.usecases.monitorctl import start

    state, started = start(_root(ctx))
    said = "started" if started else "already running"
    click.echo(f"monitor {said}: pid {state.pid}, watching {state.folders} folders")


@monitor_group.command("stop")
@click.pass_context
def monitor_stop(ctx: click.Context) -> None:
    """Stop this repository's monitor."""
    from gitpipe.usecases.monitorctl import stop

    click.echo("monitor stopped" if stop(_root(ctx)) else "no monitor was running")


@monitor_group.command("status")
@click.pass_context
def monitor_status(ctx: click.Context) -> None:
    """Whether this repository's monitor runs and what it sees; exit 1 if none runs."""
    from gitpipe.usecases.monitorctl import status

    state = status(_root(ctx))
    if state is None:
        click.echo("no monitor is running")
        ctx.exit(1)
    click.echo(f"monitor running: pid {state.pid}, {state.folders} folders, "
               f"{state.generation} changes seen, {state.state}")
