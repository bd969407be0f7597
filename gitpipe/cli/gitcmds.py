"""CLI commands for git and clusters: diff, log, commit, hooks, watch, exec and k8s.

Registered on the `cli` group when `gitpipe.cli.main` imports this module.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import TYPE_CHECKING, Any

import click

from gitpipe.cli import complete
from gitpipe.cli.console import Ui, ui_of
from gitpipe.cli.group import cli, project_of, size_text
from gitpipe.cli.jsonout import json_option, json_out
from gitpipe.cli.output import LivePrinter, diff_lines, print_report
from gitpipe.core.errors import EXIT_INTERRUPTED
from gitpipe.core.jsondoc import plain

if TYPE_CHECKING:
    from gitpipe.usecases.artifactlog import ArtifactVersion, Upstream


@cli.command("diff")
@click.argument("rev1", default="HEAD", required=False)
@click.argument("rev2", required=False)
@click.option("--all", "everything", is_flag=True,
              help="List every task, partition and change; no cut.")
@click.option("--show-hash", is_flag=True,
              help="Give each changed dep and out's digests, old -> new (as `dvc diff`).")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON list: each differing task and its changes, with digests.")
@click.pass_context
def diff_command(ctx: click.Context, rev1: str, rev2: str | None, everything: bool,
                 show_hash: bool, as_json: bool) -> None:
    """Which stages' cmd, params, deps and outs differ between REV1 (default
    HEAD) and REV2, or the work tree when REV2 is not given (as `git diff REV`),
    in the words `gitpipe status` uses (`deps: data.csv modified`)."""
    from gitpipe.usecases.lockdiff import diff

    found = diff(project_of(ctx), rev1, rev2)
    if as_json:
        import json

        click.echo(json.dumps([{"task": c.task, "changes": list(c.changes)}
                               for c in found.tasks]))
        return
    if not found.tasks:
        click.echo(f"no stage differs between {rev1} and {rev2 or 'the work tree'}")
    for line in diff_lines(found, everything, show_hash):
        click.echo(line)


@cli.command("log")
@click.argument("path")
@click.option("--rev", metavar="REV",
              help="Start from this commit, branch or tag [default: HEAD].")
@click.option("-n", "--max-count", "limit", type=click.IntRange(min=1),
              help="Show at most N versions, newest first.")
@click.pass_context
@json_option("log")
def log_command(ctx: click.Context, path: str, rev: str | None, limit: int | None) -> None:
    """The history of an out (or a file inside a directory out), from git alone:
    every commit whose gitpipe.lock changed it, newest first, with the stage,
    command, params and deps that made each version and the stages upstream.
    PATH is relative to the project's root."""
    from gitpipe.trust.checks import terminal_text  # what git holds is shown, never obeyed

    log = project_of(ctx).log(path, rev, limit)
    ui = ui_of(ctx)
    for note in log.notes:
        ui.result(f"note: {terminal_text(note)}", err=True)
    if out := json_out(ctx):
        out.emit(log.to_json())
        return
    for index, version in enumerate(log.versions):
        if index:
            click.echo("")
        for line in _version_lines(version, log.path):
            click.echo(terminal_text(line))


def _version_lines(version: ArtifactVersion, path: str) -> list[str]:
    commit = version.commit
    lines = [f"commit {commit.id[:12]}  {commit.date}  {commit.author} <{commit.email}>",
             f"    {commit.subject}"]
    if version.entry is None or version.task is None:
        return [*lines, "  no longer recorded in gitpipe.lock"]
    size = f"  {size_text(version.size)}" if version.size is not None else ""
    where = f"  (in the directory out {version.out})" if version.out != path else ""
    lines += [f"  {_short(version.digest)}{size}{where}",
              f"  stage   {version.stage}" + (f"  ({version.key})" if version.key else ""),
              f"  cmd     {version.entry.cmd}"]
    params = [f"{name}={json.dumps(plain(value), ensure_ascii=False)}"
              for name, value in _flat(version.entry.params)]
    if params:
        lines.append(f"  params  {', '.join(params)}")
    for index, dep in enumerate(version.entry.deps):
        lines.append(f"  {'deps' if index == 0 else '':<7} {dep.path}  {_short(dep.digest)}")
    for index, module in enumerate(version.entry.python):
        by = f"  (imported by {module.imported_by})" if module.imported_by else ""
        lines.append(f"  {'python' if index == 0 else '':<7} {module.path}  "
                     f"{_short(module.digest)}{by}")
    if version.upstream:
        lines.append("  upstream")
        lines += _upstream_lines(version.upstream, 2)
    return lines


def _upstream_lines(chain: tuple[Upstream, ...], depth: int) -> list[str]:
    lines = []
    for link in chain:
        lines.append(f"{'  ' * depth}{link.dep} <- {link.task}  {_short(link.digest)}"
                     + (f"  (out {link.out})" if link.out != link.dep else ""))
        lines += _upstream_lines(link.upstream, depth + 1)
    return lines


def _flat(params: dict[str, object], prefix: str = "") -> list[tuple[str, object]]:
    """Nested param values as (dotted name, value)."""
    flat: list[tuple[str, object]] = []
    for name, value in params.items():
        if isinstance(value, dict) and value:
            flat += _flat(value, f"{prefix}{name}.")
        else:
            flat.append((f"{prefix}{name}", value))
    return flat


def _short(digest: str | None) -> str:
    """`xxh3:0123456789ab`: enough of a digest to tell versions apart."""
    if digest is None:
        return "-"
    algo, _, value = digest.partition(":")
    return f"{algo}:{value[:12]}{'.dir' if value.endswith('.dir') else ''}"


@cli.command("commit")
@click.argument("targets", nargs=-1, shell_complete=complete.tasks)
@click.pass_context
@json_option("commit")
def commit_command(ctx: click.Context, targets: tuple[str, ...]) -> None:
    """Record the workspace's outs in gitpipe.lock without running (outs made by hand)."""
    from gitpipe.cli.jsonout import git_add_json
    from gitpipe.cli.output import say_git_advice
    from gitpipe.core.jsondoc import header
    from gitpipe.core.ranges import plural, positions_of, tasks_text
    from gitpipe.usecases import gitadvice
    from gitpipe.usecases.commit import commit

    project = project_of(ctx)
    before = gitadvice.marks(project)
    changed = _inputs_changed(project, targets)
    names = commit(project, targets, lambda said: ui_of(ctx).result(f"warning: {said}", err=True))
    partitions = sum("@" in name for name in names)
    counted = [plural(len(names) - partitions, "stage")] if len(names) > partitions else []
    counted += [plural(partitions, "partition")] if partitions else []
    shown = ", ".join(tasks_text(names, positions_of(str(n) for n in project.graph.nodes)))
    ui_of(ctx).info(f"committed {' and '.join(counted) or '0 stages'}"
                    + (f": {shown}" if names else ""))
    _say_kept_as_they_are(ui_of(ctx), [(name, changed[name]) for name in names
                                        if name in changed])
    tasks = [project.graph.nodes[name]["task"] for name in names]
    advice = say_git_advice(ui_of(ctx), lambda: gitadvice.advice_for(
        project, before, [out.path for task in tasks for out in task.outs]))
    if out := json_out(ctx):
        out.emit({**header("commit"), "committed": list(names), **git_add_json(advice)})


def _inputs_changed(project: Any, targets: tuple[str, ...]) -> dict[str, str]:
    """Each stale task of the targets whose inputs changed since its outs were
    made, with the first such reason, as `status` words it."""
    from gitpipe.project.reasons import INPUTS

    changed = {}
    for verdict in project.status(targets).tasks:
        said = [str(reason) for reason in verdict.reasons if reason.kind in INPUTS]
        if said:
            changed[verdict.task] = said[0]
    return changed


def _say_kept_as_they_are(ui: Ui, kept: list[tuple[str, str]]) -> None:
    """`commit` records outs as they are: where a stage's inputs changed
    since they were made (an out above it edited by hand), they are not what
    its command would make now, and a DVC user was asked first."""
    if not kept:
        return
    shown = ", ".join(f"{name} ({why})" for name, why in kept[:3])
    more = f" and {len(kept) - 3} more" if len(kept) > 3 else ""
    ui.info(f"note: recorded without running, though {'its' if len(kept) == 1 else 'their'} "
            f"inputs changed since {'its' if len(kept) == 1 else 'their'} outs were made: "
            f"{shown}{more}", err=True)
    ui.info("hint: 'gitpipe repro -f -s STAGE' reruns one", err=True)


@cli.group()
def hooks() -> None:
    """Git hooks: pre-commit, post-checkout, pre-push."""


@hooks.command("install")
@click.option("--uninstall", is_flag=True, help="Remove gitpipe's hooks, restore chained ones.")
@click.pass_context
def hooks_install(ctx: click.Context, uninstall: bool) -> None:
    """Install (or remove) gitpipe's git hooks, chaining any already there."""
    import contextlib
    from pathlib import Path

    from gitpipe.core.errors import NotAProjectError
    from gitpipe.git.repo import GitRepo
    from gitpipe.project.root import find_root
    from gitpipe.usecases import hooks as hooks_module

    start = Path(ctx.find_root().obj["dir"])
    with contextlib.suppress(NotAProjectError):
        start = find_root(start)  # the hooks run there, wherever git starts them
    git = GitRepo.discover(start)
    if uninstall:
        removed = hooks_module.uninstall(git)
        ui_of(ctx).info(f"removed {len(removed)} hook(s)")
        return
    report = hooks_module.install(git, hooks_module.env_python())
    ui_of(ctx).info(f"installed {', '.join(report.installed)} in {report.directory}")
    for name, kept in zip(report.chained, report.kept_as, strict=True):
        ui_of(ctx).info(f"  chained the existing {name} hook (kept as {kept})")


OLD_HOOK_WARNING = ("warning: this git hook was installed by an older gitpipe and starts it "
                    "with `python -m gitpipe`, which imports a branch's own modules first: "
                    "run `gitpipe hooks install` again")


def _started_the_old_way() -> bool:
    """Whether an installed hook started this process with `python -m gitpipe`
    (what hooks of an older gitpipe run), not with hooks.HOOK_ENTRY: such a
    hook keeps the work tree first on the import path until it is installed again."""
    from gitpipe.usecases.hooks import RUNNING

    return bool(os.environ.get(RUNNING)) and sys.argv[0].endswith("__main__.py")


@hooks.command("run", hidden=True, context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def hooks_run(ctx: click.Context, name: str, args: tuple[str, ...]) -> None:
    """What an installed hook runs (also `lock-check`, for pre-commit)."""
    from pathlib import Path

    from gitpipe.usecases import hooks as hooks_module

    if _started_the_old_way():
        click.echo(OLD_HOOK_WARNING, err=True)
    code, message = hooks_module.run(name, list(args), Path(ctx.find_root().obj["dir"]))
    if message:
        click.echo(message, err=True)
    ctx.exit(code)


@cli.command("watch")
@click.argument("targets", nargs=-1, shell_complete=complete.tasks)
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Stages at once [default: CPUs].")
@click.pass_context
def watch_command(ctx: click.Context, targets: tuple[str, ...], jobs: int | None) -> None:
    """Rerun stale stages as their deps change; Ctrl-C stops."""
    from gitpipe.cli.exits import error_lines
    from gitpipe.core.errors import GitpipeError
    from gitpipe.engine.reports import ReproOptions
    from gitpipe.trust.checks import printable
    from gitpipe.usecases.watch import watch

    project_dir = ctx.find_root().obj["dir"]
    stop = threading.Event()
    ui = ui_of(ctx)  # the runs happen in the watcher's thread, outside click's context

    def run(changed: set[str]) -> None:
        from gitpipe.usecases.api import Project

        # The names are a clone's (a file a pull brings under a dep folder).
        shown = ", ".join(map(printable, sorted(changed)[:5])) + (" …" if len(changed) > 5 else "")
        click.echo(f"changed: {shown}")
        printer = LivePrinter(ui)
        project = Project(project_dir)
        try:
            report = project.repro(
                options=ReproOptions(tuple(targets), jobs), listener=printer.event,
                sink=printer.line)
            printer.flush()
            print_report(report, ui)
        except GitpipeError as exc:
            for line in error_lines(exc.message, exc.hint):
                click.echo(line, err=True)
        finally:
            project.close()  # a watch runs for hours: nothing of a run outlives it
        click.echo("watching for changes (Ctrl-C to stop)")

    try:
        watch(project_of(ctx), run, stop,
              ready=lambda: click.echo("watching for changes (Ctrl-C to stop)"))
    except KeyboardInterrupt:
        stop.set()
        click.echo("stopped")
        ctx.exit(EXIT_INTERRUPTED)


@cli.command("exec")
@click.argument("task")
@click.option("--fingerprint", required=True, help="The fingerprint gitpipe staged the job as.")
@click.option("--remote", "remote_url", required=True, help="The remote's URL.")
@click.option("--record-digest", required=True,
              help="The sha256 of the job record; a record that differs is refused.")
@click.option("--workdir", type=click.Path(file_okay=False), default=".",
              help="Where to materialize deps and run [default: the current directory].")
@click.option("--termination-log", type=click.Path(dir_okay=False), default=None,
              help="Write the result record's sha256 here (the container's "
                   "terminationMessagePath): the controller believes no other record.")
def exec_command(task: str, fingerprint: str, remote_url: str, record_digest: str,
                 workdir: str, termination_log: str | None) -> None:
    """What a Kubernetes pod runs: pull deps, run, push outs and a result record."""
    from pathlib import Path

    from gitpipe.executors.remoteexec import run_in_pod

    code = run_in_pod(task, fingerprint, remote_url, Path(workdir).resolve(), record_digest,
                      Path(termination_log) if termination_log else None)
    sys.exit(code)


@cli.group("k8s")
def k8s() -> None:
    """Kubernetes helpers."""


@k8s.command("manifest")
@click.argument("task", shell_complete=complete.tasks)
@click.pass_context
def k8s_manifest(ctx: click.Context, task: str) -> None:
    """Print the Job YAML gitpipe would create for STAGE[@PARTITION]."""
    from gitpipe.core.yamlio import dump_yaml
    from gitpipe.executors.kubernetes.manifest import (
        KubeSettings,
        PodRemote,
        job_manifest,
        pod_remote,
    )
    from gitpipe.executors.remotejob import job_record, record_digest
    from gitpipe.pipeline.config import remote_settings
    from gitpipe.pipeline.graph import select
    from gitpipe.project.staleness import observe
    from gitpipe.storage.urls import resolve_url

    project = project_of(ctx.find_root())
    nodes = select(project.graph, [task])
    settings = KubeSettings.from_config(project.config.raw.get("kubernetes") or {})
    remote = PodRemote("REMOTE-URL")
    if project.has_remote():
        # The remote a run would use (the same choice, or the same error), unopened.
        chosen = remote_settings(project.config)
        remote = pod_remote(chosen.name, resolve_url(chosen.url, project.root),
                            dict(chosen.options))
        if remote.withheld:
            click.echo(f"warning: remote {chosen.name!r}: options "
                       f"{', '.join(remote.withheld)} are not passed to pods (they look "
                       "like credentials)", err=True)
    documents = []
    for node in nodes:
        found = project.graph.nodes[node]["task"]
        seen = observe(found, project.workspace, project.params_reader(),
                       project.lock_entries.get(found.name))
        record = job_record(found, seen.fingerprint, project.workspace)
        documents.append(dump_yaml(job_manifest(found, seen.fingerprint, 0, settings, remote,
                                                record_digest(record.to_bytes()))))
    click.echo("---\n".join(documents), nl=False)
