"""The `gitpipe` command: the commonest command lines answer before click loads.

`gitpipe status` (and a repro with nothing to do) is what users and
pre-commit hooks run most. Three doors, cheapest first: a sealed no-op
(fastpath/seal.py: stat calls only), the engine without click
(fastpath/quick.py: the first status after a change; a plain repro, run
through cli/reprorun.py), the CLI (main.py: everything else, and every error
found before a repro starts). fastpath/noop.py says which command lines the
first two may answer.
`--version` needs no click either. On a platform gitpipe cannot run on
(not POSIX), every door is closed with a sentence before anything is imported.
"""

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gitpipe.fastpath.quick import Stale


def _standard_descriptors_opened() -> None:
    """A standard descriptor closed when gitpipe starts (`gitpipe repro >&-`)
    opened on /dev/null, as git does: else the first file gitpipe opens takes
    its number (the project lock's, which a stage's stdin or output would then
    replace in the child), and output meant for it fails with a traceback."""
    for fd, name, mode in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        if getattr(sys, name) is None:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            setattr(sys, name, open(fd, mode, closefd=False))  # noqa: SIM115 (lives as sys.std*)


def main(leave_at_once: bool = True) -> None:
    """The console script. `leave_at_once`: after a status or repro answered
    without the CLI (sealed or quick), end the process without tearing the
    interpreter down (os._exit once the output is flushed); a caller that goes
    on after main() returns (a test) passes False."""
    import gc

    problem = unsupported_platform(os.name, sys.platform)
    if problem is not None:
        refuse(*problem)
    # gitpipe builds many small long-lived objects (specs, lock entries, stat
    # rows) and few cycles; the default thresholds run full collections over
    # them again and again.
    gc.set_threshold(50_000, 50, 100)
    if sys.stdin is None or sys.stdout is None or sys.stderr is None:
        _standard_descriptors_opened()
    argv = sys.argv[1:]
    command = None
    found: tuple[str, int, bool] | None = None   # see _without_cli
    if argv == ["--version"]:
        # click.version_option's message, without importing click (most of the
        # command's time); tests/test_imports.py checks the two agree.
        from gitpipe import __version__

        found = (f"gitpipe, version {__version__}\n", 0, False)
    else:
        from gitpipe.fastpath.noop import command_of

        command = command_of(argv)
        if command is not None and leave_at_once:
            # An answer given here ends the process: what the judgement built
            # is freed with it, never worth a collection on the way.
            gc.disable()
        found = None if command is None else _without_cli(command, argv)
    if found is None:
        gc.enable()
        from gitpipe.cli.main import main as run_cli

        run_cli(leave_at_once)
        return
    text, code, answered = found
    if sys.stdout.isatty() and not os.environ.get("NO_COLOR"):
        from gitpipe.cli.colour import colour

        text = colour(text)  # as the CLI's door colours the same answer
    _write_answer(text)
    if leave_at_once and answered:
        # Nothing was left that teardown must close: no thread, no atexit
        # handler, the state database closed (fastpath/quick.py). Unloading the
        # modules and the last garbage collection would cost the sealed answer a
        # large share of its work, and the first status after a change as much
        # as its judgement, for a process that ends anyway
        # (docs/dev/performance-log.md).
        sys.stderr.flush()
        os._exit(code)
    if code:
        sys.exit(code)


def _write_answer(text: str) -> None:
    """Print an answer given without the CLI. A reader that left is let go;
    any other failure to write it (a full disk) is said as the click door
    says an unexpected error, exit 1: never a traceback, never a silent 0."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        from gitpipe.cli.exits import reader_left

        reader_left()
    except OSError as exc:
        from gitpipe.cli.console import Ui
        from gitpipe.cli.exits import failed, reader_left

        reader_left()  # what stdout still buffers must not fail Python's own exit again
        sys.exit(failed(exc, Ui()))


def unsupported_platform(os_name: str, platform: str) -> tuple[str, str] | None:
    """Why gitpipe cannot run here and what to do instead, or None.

    gitpipe needs POSIX: file locks (`fcntl`), process groups (`os.killpg`),
    `fork` for hashing and `O_NOFOLLOW` for every guarded open. Native Windows
    has none of them, so it is refused at the start with a sentence rather
    than an ImportError deep in a command.
    """
    if os_name == "posix":
        return None
    from gitpipe.core.install import pip_install

    return (f"gitpipe runs on Linux and macOS (POSIX); this is {platform!r}, "
            "which it does not support",
            "on Windows, run gitpipe inside WSL 2 (a Linux distribution), "
            f"where `{pip_install()}` installs it")


def refuse(message: str, hint: str) -> None:
    """Print `message` and `hint` as the CLI prints an error and exit 1."""
    from gitpipe.cli.exits import error_lines

    sys.stderr.writelines(f"{line}\n" for line in error_lines(message, hint))
    sys.exit(1)


def _without_cli(command: str, argv: list[str]) -> tuple[str, int, bool] | None:
    """(output, exit code, whether the process may end at once: an answer given
    without the CLI, not a repro it ran), or None: the CLI answers."""
    import time

    from gitpipe.fastpath import noop, seal

    if command == noop.REPRO and noop.STILL_RUNNING_VAR in os.environ:
        problem = _bad_still_running_setting()
        if problem is not None:
            return _refused(problem)
    # The status may take the listings the seal's check walks (seal.check):
    # what it reads is as old as the check, and so is the racy window of its seal.
    started_ns = time.time_ns()
    text, walked = seal.check(command)
    if text is not None:
        return text, 0, True
    if os.environ.get("GITPIPE_NO_QUICK"):
        return None
    from gitpipe.core.errors import SpecError
    from gitpipe.fastpath import quick

    try:
        found = quick.answer(command, argv, _hash_progress if sys.stderr.isatty() else None,
                             walked, started_ns)
    except KeyboardInterrupt:
        from gitpipe.cli.exits import interrupted

        sys.exit(interrupted())
    except SpecError as exc:  # reported as the CLI would, without parsing the spec again
        return _refused(exc)
    if isinstance(found, quick.Stale):
        return _repro_without_cli(found, argv)
    return None if found is None else (*found, True)


def _bad_still_running_setting() -> Exception | None:
    """Why a run would refuse the still-running setting (cli/stillrunning.py),
    asked before a sealed no-op's answer too: a CI job with a mistyped value
    fails the same way every time, not first on the day a stage has to run."""
    from gitpipe.cli.stillrunning import silence_allowed
    from gitpipe.core.errors import BadInputError

    try:
        silence_allowed()
    except BadInputError as exc:
        return exc
    return None


def _refused(exc: Exception) -> tuple[str, int, bool] | None:
    """An error of the quick door, reported as the click group reports it (or
    None under GITPIPE_DEBUG: the CLI runs the command and shows the traceback)."""
    from gitpipe.cli import exits
    from gitpipe.cli.console import Ui
    from gitpipe.core.errors import debugging

    return None if debugging() else ("", exits.failed(exc, Ui()), False)


def _repro_without_cli(stale: "Stale", argv: list[str]) -> tuple[str, int, bool] | None:
    """A plain repro with work to do, run and reported as the click command runs
    it (cli/reprorun.py), ended as the CLI ends a command: an error's message,
    a Ctrl-C, a reader that left. Everything it printed is printed already.
    Under GITPIPE_DEBUG (tracebacks) the CLI runs it."""
    import gc

    from gitpipe.cli import exits
    from gitpipe.core.errors import debugging

    if debugging():
        return None
    gc.enable()  # a run frees much as it goes: collections run as in the CLI
    from gitpipe.cli.console import Ui
    from gitpipe.cli.hashbar import HashingProgress
    from gitpipe.cli.reprorun import plain_options, run_repro
    from gitpipe.fastpath.noop import jobs_of

    exits.second_interrupt_exits()
    ui = Ui()
    stale.project.hash_progress = HashingProgress(ui)
    settled = [0]
    try:
        report = run_repro(stale.project, plain_options(jobs_of(argv)), ui, False,
                           stale.started_ns, settled.append).report
    except BrokenPipeError:
        exits.reader_left()
        return "", settled[-1], False
    except KeyboardInterrupt:
        return "", exits.interrupted(), False
    except Exception as exc:  # as the click group reports it
        code = exits.failed(exc, ui)
        if isinstance(exc, OSError):
            exits.reader_left()  # a stdout that failed (a full disk) must not fail again
        return "", code, False
    # Everything is written (lock, run history, table): the process may end
    # without teardown once the state database is closed and no thread of
    # the run is left, as after a status: teardown would spend its time
    # freeing what the build held (docs/explanation/performance.md).
    stale.project.close()
    return "", 0 if report.ok else 1, exits.threads_done()


_bar: list = []


def _hash_progress(directory: str, done: int, total: int) -> None:
    """The first hashing of a large directory, on a terminal: the CLI's bar,
    imported only when such a directory is met (it imports click and rich)."""
    if not _bar:
        from gitpipe.cli.console import Ui
        from gitpipe.cli.hashbar import HashingProgress

        _bar.append(HashingProgress(Ui()))
    _bar[0](directory, done, total)


if __name__ == "__main__":
    main()
