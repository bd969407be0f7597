"""The `gitpipe` command: a sealed no-op answers before anything heavy is imported.

`gitpipe status` run again on an unchanged repository is the command users
(and pre-commit hooks) run most; seal.py answers it from stat calls alone.
`--version` needs no click either. Everything else goes to the CLI in cli.py.
"""

import os
import sys


def main() -> None:
    text = None
    if sys.argv[1:] == ["--version"]:
        # click.version_option's message, without importing click (~2/3 of the
        # command's time); tests/test_imports.py checks the two agree.
        from gitpipe import __version__

        text = f"gitpipe, version {__version__}\n"
    elif sys.argv[1:2] in (["status"], ["repro"]):
        from gitpipe import seal

        text = seal.answer(sys.argv[1:])
    if text is None:
        from gitpipe.cli import main as run_cli

        run_cli()
        return
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # `gitpipe status | head -0`: the reader left; nothing more to say.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


if __name__ == "__main__":
    main()
