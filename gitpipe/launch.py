"""The `gitpipe` command: a sealed no-op answers before anything heavy is imported.

`gitpipe status` run again on an unchanged repository is the command users
(and pre-commit hooks) run most; seal.py answers it from stat calls alone.
Everything else goes to the click CLI in cli.py.
"""

import os
import sys


def main() -> None:
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
