"""The group's table of where each command lives (cli/group.py COMMAND_HOMES)
is what the command modules register: a command line imports only its own
command's module, so a wrong or missing row would lose a command."""

from __future__ import annotations

import json
import subprocess
import sys

import click

from gitpipe.cli.group import COMMAND_HOMES
from gitpipe.cli.main import cli


def test_each_command_is_defined_in_the_module_the_table_names() -> None:
    # Where each command's function is defined, whatever loaded it: one module
    # may import another's helpers, and with them its commands.
    code = ("import importlib, json; from gitpipe.cli.group import COMMAND_HOMES, cli\n"
            "found = {}\n"
            "for name, home in COMMAND_HOMES.items():\n"
            "    importlib.import_module('gitpipe.cli.' + home)\n"
            "    command = cli.commands.get(name)\n"
            "    found[name] = command and command.callback.__module__\n"
            "print(json.dumps([found, sorted(cli.commands)]))")
    found, registered = json.loads(subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert found == {name: f"gitpipe.cli.{home}" for name, home in COMMAND_HOMES.items()}
    assert registered == sorted(COMMAND_HOMES)


def test_every_command_is_listed_and_an_unknown_one_gets_a_suggestion() -> None:
    assert cli.list_commands(click.Context(cli)) == sorted(COMMAND_HOMES)
    code = ("import sys; from gitpipe.cli.main import cli\n"
            "try:\n    cli(['stauts'])\nexcept SystemExit as exc:\n    print(exc.code)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "2"
    assert "No such command 'stauts'" in done.stderr and "status" in done.stderr
