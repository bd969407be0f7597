"""`gitpipe import dvc`: migration from other tools' pipeline files."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from gitpipe.cli.group import cli


class _ImportGroup(click.Group):
    """`gitpipe import dvc.yaml` (the file where the tool's name goes) says
    the command that reads it, and `gitpipe import URL PATH` (DVC's `dvc
    import`) what to do instead, not only "No such command"."""

    def resolve_command(self, ctx: click.Context,
                        args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            from gitpipe.trust.checks import terminal_text

            name = Path(args[0]).name if args else ""
            if args and ("://" in args[0] or args[0].startswith("git@")):
                # DVC's `dvc import URL PATH`, which gets data from another repository
                raise click.UsageError(
                    f"{exc.message}\nhint: 'gitpipe import dvc' reads a dvc.yaml; DVC's "
                    "'dvc import URL PATH' has no equivalent: clone that repository and "
                    "'gitpipe pull PATH' there, or let a stage's command download it "
                    "(docs/howto/dvc.md)", exc.ctx) from None
            if not (name.startswith("dvc") and name.endswith((".yaml", ".yml"))):
                raise  # a DVC pipeline file where the tool's name goes
            said = shlex.quote(terminal_text(args[0]))
            raise click.UsageError(f"{exc.message}\nhint: name the tool first: "
                                   f"gitpipe import dvc {said}", exc.ctx) from None


@cli.group("import", cls=_ImportGroup)
def import_group() -> None:
    """Write gitpipe.yaml from another tool's pipeline file."""


@import_group.command("dvc")
@click.argument("path", default="dvc.yaml", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write here instead of gitpipe.yaml.")
@click.option("-f", "--force", is_flag=True, help="Replace an existing gitpipe.yaml.")
@click.pass_context
def import_dvc(ctx: click.Context, path: str, output: str | None, force: bool) -> None:
    """Translate a dvc.yaml (stages, deps, params, outs, metrics, plots, foreach,
    matrix, vars); say what could not be translated."""
    from gitpipe.usecases.importdvc import import_file

    here = Path(ctx.find_root().obj["dir"])
    target, translation = import_file(here / path, here,
                                      Path(output) if output else None, force)
    for note in translation.notes:
        click.echo(f"note: {note}", err=True)
    stages = len(translation.spec["stages"])
    click.echo(f"wrote {target} with {stages} stage(s)"
               + (f"; {len(translation.notes)} note(s) above" if translation.notes else ""))
    click.echo("next: gitpipe init (once), gitpipe validate, gitpipe repro")
