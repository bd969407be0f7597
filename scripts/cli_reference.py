"""Write docs/reference/cli.md from the click commands: every command and
subcommand, its usage, arguments and options with their help and defaults.

    python scripts/cli_reference.py          # (make cli-reference) rewrite the page
    python scripts/cli_reference.py --check  # exit 1 when the page is out of date

tests/unit/test_cli_reference.py fails when the committed page differs from
what this script writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's gitpipe, whatever is installed

import click  # noqa: E402

from gitpipe.cli.main import cli  # noqa: E402

PAGE = ROOT / "docs" / "reference" / "cli.md"
COMMAND = "make cli-reference"
# A wide formatter: the page is read on screens and diffs, not a terminal,
# and must not change with the width of the one that wrote it.
WIDTH = 1000

HEADER = f"""\
# CLI reference

Written from the commands themselves by `{COMMAND}`
(`scripts/cli_reference.py`); a test fails when this page and the commands
disagree. To change it, change the command's help and run `{COMMAND}`.

Every command takes the global options before its name
(`gitpipe -C path/to/project status`), and `-h`/`--help` after it. Stage
arguments complete stage names, and `stage@partition` after the `@`, once
shell completion is set up ([howto/shell-completion.md](../howto/shell-completion.md)).
Exit codes: 0 success, 1 a stage failed (or `status --check` found something
stale), 2 bad input (spec, params, lockfile, config, command line), 130
interrupted.
"""


def _cell(text: str) -> str:
    """`text` on one line, safe inside a Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def _default(param: click.Parameter, ctx: click.Context) -> str:
    value = param.get_default(ctx, call=False)
    # No default, an unset flag, or click's own marker for "not given".
    if value in (None, False, ()) or callable(value) or type(value).__name__ == "Sentinel":
        return ""
    return f"`{value}`"


def _bounds(param: click.Parameter) -> str:
    kind = param.type
    if not isinstance(kind, (click.IntRange, click.FloatRange)):
        return ""
    parts = [f"at least {kind.min}" if kind.min is not None else "",
             f"at most {kind.max}" if kind.max is not None else ""]
    text = " and ".join(part for part in parts if part)
    return f"Range: {text}." if text else ""


def _option_rows(command: click.Command, ctx: click.Context) -> list[str]:
    rows = []
    for param in command.get_params(ctx):
        if not isinstance(param, click.Option) or param.hidden or "--help" in param.opts:
            continue
        record = param.get_help_record(ctx)
        names = record[0] if record else ", ".join(param.opts)
        help_text = " ".join(filter(None, [param.help or "", _bounds(param)]))
        rows.append(f"| `{_cell(names)}` | {_cell(help_text)} | {_default(param, ctx)} |")
    return rows


def _argument_lines(command: click.Command, ctx: click.Context) -> list[str]:
    lines = []
    for param in command.get_params(ctx):
        if not isinstance(param, click.Argument):
            continue
        many = " (any number)" if param.nargs == -1 else ""
        need = "required" if param.required else "optional"
        completer = getattr(param, "_custom_shell_complete", None)
        completes = ""
        if completer is not None and completer.__doc__:
            what = completer.__doc__.strip().splitlines()[0].rstrip(".")
            completes = f"; completes {what[:1].lower()}{what[1:]}"
        lines.append(f"- `{param.human_readable_name}`: {need}{many}{completes}")
    return lines


def _section(command: click.Command, ctx: click.Context, depth: int) -> list[str]:
    usage = command.get_usage(ctx).strip()
    help_text = (command.help or "").split("\f")[0].strip()
    out = [f"{'#' * depth} `{ctx.command_path}`", "", help_text, "",
           "```", usage, "```", ""]
    arguments = _argument_lines(command, ctx)
    if arguments:
        out += ["Arguments:", "", *arguments, ""]
    options = _option_rows(command, ctx)
    if options:
        out += ["| option | what | default |", "| --- | --- | --- |", *options, ""]
    return out


def _walk(command: click.Command, ctx: click.Context,
          depth: int) -> list[tuple[click.Command, click.Context, int]]:
    found = [(command, ctx, depth)]
    if isinstance(command, click.Group):
        for name in sorted(command.list_commands(ctx)):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                child = click.Context(sub, info_name=name, parent=ctx, **sub.context_settings)
                found += _walk(sub, child, depth + 1)
    return found


def render() -> str:
    """The page, as `make cli-reference` writes it."""
    root = click.Context(cli, info_name="gitpipe", terminal_width=WIDTH,
                         max_content_width=WIDTH, **cli.context_settings)
    commands = _walk(cli, root, 1)
    index = [f"- [`{ctx.command_path}`](#{ctx.command_path.replace(' ', '-')})"
             for _, ctx, depth in commands if depth > 1]
    lines = [HEADER, "## Commands", "", *index, ""]
    for command, ctx, depth in commands:
        section = _section(command, ctx, depth + 1)
        if depth == 1:
            section[0] = "## Global options"
        lines += section
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if PAGE.read_text() == text:
            return 0
        print(f"{PAGE.relative_to(ROOT)} is out of date: run '{COMMAND}'", file=sys.stderr)
        return 1
    PAGE.write_text(text)
    print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
