"""The commands that show values, not digests: `params diff`, `metrics show`
and `metrics diff`.

Registered on the `cli` group when `gitpipe.cli.main` imports this module.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from gitpipe.cli.group import cli, project_of, settle_exit_code

if TYPE_CHECKING:
    from gitpipe.usecases.metricfiles import MetricsFile
    from gitpipe.usecases.values import Change

_REVS_HELP = "No REV: HEAD against the work tree; one: REV against the work tree; two: A against B."


def _sides(revs: tuple[str, ...]) -> tuple[str | None, str | None]:
    """The (old, new) sides of a diff; None stands for the work tree."""
    if len(revs) > 2:
        raise click.UsageError("at most two revisions: OLD [NEW]")
    if not revs:
        return "HEAD", None
    return revs[0], (revs[1] if len(revs) == 2 else None)


def _json_value(value: Any) -> Any:
    from gitpipe.pipeline.params import ABSENT

    return None if value is ABSENT else value


def changes_json(changes: list[Change]) -> dict[str, dict[str, Any]]:
    """{file: {key: {"old", "new", "diff"}}}, the shape of DVC's `--json`."""
    found: dict[str, dict[str, Any]] = {}
    for change in changes:
        found.setdefault(change.file, {})[change.key] = {
            "old": _json_value(change.old), "new": _json_value(change.new),
            "diff": change.change}
    return found


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, default=str))


def _aligned(rows: list[list[str]]) -> list[str]:
    """The rows' cells in columns; names and values come from files in git."""
    from gitpipe.core.columns import aligned
    from gitpipe.trust.checks import terminal_text

    return aligned([[terminal_text(cell) for cell in row] for row in rows])


def print_changes(changes: list[Change], what: str, old: str, new: str,
                  partial: bool = False) -> None:
    """The changes under a header that names the two sides, as `metrics show`
    names its columns. `partial`: some files could not be read, so "nothing
    differs" says so."""
    if not changes:
        click.echo(f"no {what} differ between {old} and {new}"
                   + (" in the files that could be read" if partial else ""))
        return
    from gitpipe.usecases.values import distinct

    rows = [[c.name, " -> ".join(distinct([c.old, c.new])), c.how] for c in changes]
    changed = "change" if any(how for _, _, how in rows) else ""
    header = [what.removesuffix("s"), f"{old} -> {new}", changed]
    for line in _aligned([header, *rows]):
        click.echo(line)


def _report_problems(ctx: click.Context, problems: list[MetricsFile]) -> None:
    """Each unreadable metrics file on stderr; the command then exits 1."""
    if not problems:
        return
    settle_exit_code(ctx, 1)
    for found in problems:
        click.echo(f"error: {found.problem}", err=True)
        if found.hint:
            click.echo(f"hint: {found.hint}", err=True)


@cli.group("params")
def params_group() -> None:
    """The values of the params the stages use."""


@params_group.command("diff", help="Params whose values differ, old -> new. " + _REVS_HELP)
@click.argument("revs", nargs=-1, metavar="[REV [REV]]")
@click.option("-a", "--all", "everything", is_flag=True, help="Show unchanged params too.")
@click.option("--targets", multiple=True, metavar="PATH",
              help="Only this params file (repeatable), as DVC's --targets.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def params_diff_command(ctx: click.Context, revs: tuple[str, ...], everything: bool,
                        targets: tuple[str, ...], as_json: bool) -> None:
    from gitpipe.usecases.values import refuse_undeclared, side_label

    old, new = _sides(revs)
    project = project_of(ctx)
    wanted = set(refuse_undeclared(project, targets, params=True))
    changes = [change for change in project.params_diff(old, new, everything)
               if not wanted or change.file in wanted]
    if as_json:
        _echo_json(changes_json(changes))
    else:
        print_changes(changes, "params", side_label(old), side_label(new))


@cli.group("metrics")
def metrics_group() -> None:
    """The values in the metrics files the stages write (`metrics:` outs)."""


_precision_option = click.option(
    "--precision", type=click.IntRange(min=0), metavar="N",
    help="Round floats to N digits after the point, as DVC's --precision "
         "[default: 12 significant digits, float noise cut]; --json keeps them whole.")


def _file_json(found: MetricsFile) -> dict[str, Any]:
    if found.missing:
        return {"missing": True}
    if found.problem:
        return {"error": found.problem, "hint": found.hint}
    return {"data": found.values}


def _show_rows(shown: dict[str, list[MetricsFile]],
               precision: int | None = None) -> list[list[str]]:
    """One row per metric (or per file without values), one column per side."""
    from gitpipe.pipeline.params import ABSENT
    from gitpipe.usecases.values import brief_row

    cells: dict[tuple[str, str], dict[str, str]] = {}
    values: dict[tuple[str, str], dict[str, Any]] = {}
    for label, files in shown.items():
        for found in files:
            if found.missing or found.problem or not found.values:
                state = "(missing)" if found.missing else \
                    "(unreadable)" if found.problem else "(empty)"
                cells.setdefault((found.path, ""), {})[label] = state
            for key, value in found.values.items():
                values.setdefault((found.path, key), {})[label] = value
    for row, by_label in values.items():
        briefed = brief_row([by_label.get(label, ABSENT) for label in shown], precision)
        cells.setdefault(row, {}).update(zip(shown, briefed, strict=True))
    return [[f"{path}:{key}" if key else path, *(row.get(label, "-") for label in shown)]
            for (path, key), row in sorted(cells.items())]


@metrics_group.command("show")
@click.argument("revs", nargs=-1, metavar="[REV...] [PATH...]")
@_precision_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def metrics_show_command(ctx: click.Context, revs: tuple[str, ...], precision: int | None,
                         as_json: bool) -> None:
    """Metrics values in the work tree, or at each REV (one column each); a
    PATH of a metrics file gitpipe.yaml declares shows that file's only (as
    DVC's targets)."""
    from gitpipe.usecases.values import (
        declared_metrics,
        metrics_target,
        refuse_path_as_revision,
    )

    project = project_of(ctx)
    declared = declared_metrics(project) if revs else []
    targets = {path for arg in revs if (path := metrics_target(project, arg, declared))}
    revs = tuple(arg for arg in revs if metrics_target(project, arg, declared) is None)
    refuse_path_as_revision(project, revs)
    shown = project.metrics_show(revs or (None,))
    if targets:
        shown = {label: [f for f in files if f.path in targets] for label, files in shown.items()}
    problems = [found for files in shown.values() for found in files if found.problem]
    _report_problems(ctx, problems)
    if as_json:
        _echo_json({label: {f.path: _file_json(f) for f in files}
                    for label, files in shown.items()})
    else:
        rows = _show_rows(shown, precision)
        if not rows:
            click.echo("no stage declares metrics (list them under 'metrics:' in gitpipe.yaml)")
        else:
            for line in _aligned([["metric", *shown], *rows]):
                click.echo(line)
    ctx.exit(1 if problems else 0)


@metrics_group.command("diff", help="Metrics whose values differ, old -> new. " + _REVS_HELP)
@click.argument("revs", nargs=-1, metavar="[REV [REV]]")
@click.option("-a", "--all", "everything", is_flag=True, help="Show unchanged metrics too.")
@click.option("--targets", multiple=True, metavar="PATH",
              help="Only this metrics file (repeatable), as DVC's --targets.")
@_precision_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def metrics_diff_command(ctx: click.Context, revs: tuple[str, ...], everything: bool,
                         targets: tuple[str, ...], precision: int | None,
                         as_json: bool) -> None:
    from gitpipe.usecases.values import briefly, refuse_undeclared, side_label

    old, new = _sides(revs)
    project = project_of(ctx)
    wanted = set(refuse_undeclared(project, targets))
    found = project.metrics_diff(old, new, everything)
    if wanted:
        found = found._replace(changes=[c for c in found.changes if c.file in wanted],
                               problems=[f for f in found.problems if f.path in wanted])
    _report_problems(ctx, found.problems)
    if as_json:
        _echo_json(changes_json(found.changes))
    else:
        print_changes([briefly(change, precision) for change in found.changes], "metrics",
                      side_label(old), side_label(new), bool(found.problems))
    ctx.exit(1 if found.problems else 0)
