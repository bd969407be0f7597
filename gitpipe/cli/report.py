"""`gitpipe report`: the pipeline as one HTML file that opens offline."""

from __future__ import annotations

from pathlib import Path

import click

from gitpipe.cli.console import ui_of
from gitpipe.cli.group import cli, project_of

DEFAULT_FILE = "gitpipe-report.html"


@cli.command()
@click.option("-o", "--output", default=DEFAULT_FILE, show_default=True,
              help="Where to write the page, relative to the current directory; - for stdout.")
@click.option("--commits", type=click.IntRange(min=0), default=10, show_default=True,
              help="Metrics of this many commits back from HEAD.")
@click.pass_context
def report(ctx: click.Context, output: str, commits: int) -> None:
    """Write the pipeline's report: the graph coloured by state, the partitions
    grid, the last run's timeline and the metrics of recent commits, in one
    self-contained HTML file."""
    project = project_of(ctx)
    page = project.report(commits)
    for message in page.messages:
        ui_of(ctx).result(f"warning: {message}", err=True)
    if output == "-":
        click.echo(page.html, nl=False)
        return
    from gitpipe.usecases.userfile import write_user_file

    if ctx.get_parameter_source("output") is click.core.ParameterSource.DEFAULT:
        # The default page is regenerated, never a source: git status stays
        # clean (a file named with -o is the user's, to keep or not).
        added = project.ignore_generated(Path(output))
        if added:
            ui_of(ctx).result(f"note: .gitignore now ignores {added} (a generated page): "
                              "commit it", err=True)
    write_user_file(project.root, Path(output), page.html, "the report")
    ui_of(ctx).result(output)
