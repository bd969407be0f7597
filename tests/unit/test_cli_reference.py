"""docs/reference/cli.md is what scripts/cli_reference.py writes from the click
commands: a command, option or help text changed without the page fails here."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import cli_reference  # noqa: E402  (a script, found on the path set above)

from gitpipe.cli.main import cli  # noqa: E402


def command_paths(group: click.Group, prefix: str = "gitpipe") -> list[str]:
    found = []
    for name, command in group.commands.items():
        if command.hidden:
            continue
        found.append(f"{prefix} {name}")
        if isinstance(command, click.Group):
            found += command_paths(command, f"{prefix} {name}")
    return found


def test_the_committed_page_is_what_the_commands_say() -> None:
    assert cli_reference.PAGE.read_text() == cli_reference.render(), (
        "docs/reference/cli.md is out of date: run 'make cli-reference' "
        "(python scripts/cli_reference.py) and commit the page")


def test_every_command_and_option_is_on_the_page() -> None:
    page = cli_reference.render()
    for path in command_paths(cli):
        assert f"`{path}`](#{path.replace(' ', '-')})" in page, path
        assert f" `{path}`\n" in page, path
    for option in ("--dry-run", "--keep-going", "--all-commits", "--concurrency", "-C DIRECTORY"):
        assert option in page
    assert "hooks run" not in page  # hidden: what the installed hooks call


def test_the_page_does_not_depend_on_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    wide = cli_reference.render()
    monkeypatch.setenv("COLUMNS", "40")
    assert cli_reference.render() == wide


def test_check_mode_names_the_command_that_fixes_it(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "docs" / "reference" / "cli.md"
    page.parent.mkdir(parents=True)
    page.write_text("# stale\n")
    monkeypatch.setattr(cli_reference, "ROOT", tmp_path)
    monkeypatch.setattr(cli_reference, "PAGE", page)
    assert cli_reference.main(["--check"]) == 1
    assert "make cli-reference" in capsys.readouterr().err
    assert cli_reference.main([]) == 0 and cli_reference.main(["--check"]) == 0


def test_every_option_says_what_it_does() -> None:
    # An option with no help is a bare name on the page and in --help.
    bare = []
    for path in command_paths(cli):
        command = cli
        for name in path.split()[1:]:
            assert isinstance(command, click.Group)
            command = command.commands[name]
        bare += [f"{path} {option.opts[0]}" for option in command.params
                 if isinstance(option, click.Option) and not option.hidden and not option.help]
    assert bare == []
