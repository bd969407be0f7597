"""Installing gitpipe: one distribution name in pyproject, hints, docs and recipes;
the package ships its licence and type marker; only POSIX is supported."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from gitpipe.cli.launch import refuse, unsupported_platform
from gitpipe.core.install import DISTRIBUTION, EXTRAS, pip_install

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = (ROOT / "pyproject.toml").read_text()
# Where users read how to install gitpipe: the code's hints, docs, recipes, the Makefile.
SCANNED = ["README.md", "Makefile", "pyproject.toml", "docs/**/*.md", "examples/**/*",
           "gitpipe/**/*.py", "scripts/**/*", ".pre-commit-hooks.yaml"]
# Pages that quote `pip install gitpipe` as the mistake they explain, and how often.
QUOTED_AS_THE_MISTAKE = {"docs/troubleshooting.md": 1}


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed_names(text: str) -> list[str]:
    """The first package each `pip install` in `text` names (options skipped)."""
    flat = " ".join(text.split())  # a command broken over two lines of prose
    names = []
    for match in re.finditer(r"\bpip3? install ((?:-\S+ (?:\S+=\S+ )?)*)(\S+)", flat):
        argument = match.group(2).strip("`'\"")
        name = re.match(r"[A-Za-z0-9][A-Za-z0-9_.-]*", argument)
        names.append(_normalized(name.group(0)) if name else argument)
    return names


def test_the_distribution_is_the_one_pyproject_declares() -> None:
    assert re.search(r'^name = "(.+)"$', PYPROJECT, re.M).group(1) == DISTRIBUTION
    assert f'all = ["{DISTRIBUTION}[s3,k8s]"]' in PYPROJECT
    # The index's `gitpipe` is another project: gitpipe is never installed by that name.
    assert _normalized(DISTRIBUTION) != "gitpipe"
    declared = re.findall(r"^(\w+) = \[", PYPROJECT.split("[project.optional-dependencies]")[1]
                          .split("\n[")[0], re.M)
    assert set(EXTRAS) == set(declared) - {"test"}


def test_hints_install_this_project() -> None:
    assert pip_install() == "pip install gitpipe-ml"
    assert pip_install("s3") == "pip install 'gitpipe-ml[s3]'"
    with pytest.raises(ValueError, match="unknown extra 'gpu'"):
        pip_install("gpu")


def test_every_pip_install_in_docs_recipes_and_code_names_this_project() -> None:
    assert _installed_names("run `pip install\n'gitpipe[s3]'` first") == ["gitpipe"]
    assert _installed_names("pip install ./gitpipe-sandbox; pip install Gitpipe_ML") == [
        "./gitpipe-sandbox;", "gitpipe-ml"]
    assert _installed_names("pip install -q -e '.[all]' --config-settings a=b x") == [".[all]"]
    wrong = []
    for pattern in SCANNED:
        for path in ROOT.glob(pattern):
            if not path.is_file() or path.suffix in (".pyc",):
                continue
            rel = path.relative_to(ROOT).as_posix()
            names = _installed_names(path.read_text(errors="replace"))
            if names.count("gitpipe") > QUOTED_AS_THE_MISTAKE.get(rel, 0):
                wrong.append(rel)
    assert wrong == [], f"`pip install gitpipe` installs another project: {wrong}"


def test_the_package_ships_its_licence_and_type_marker() -> None:
    assert (ROOT / "gitpipe" / "py.typed").is_file()
    assert 'gitpipe = ["py.typed", "usecases/*.js", "usecases/*.css"]' in PYPROJECT  # + report
    assert "Apache License\n" in (ROOT / "LICENSE").read_text()
    assert 'license = "Apache-2.0"' in PYPROJECT and 'license-files = ["LICENSE"]' in PYPROJECT
    for key in ("Homepage", "Documentation", "Issues", "Source"):
        assert re.search(rf"^{key} = \"https://", PYPROJECT, re.M), key


def test_only_posix_is_supported() -> None:
    assert unsupported_platform("posix", "linux") is None
    assert unsupported_platform("posix", "darwin") is None
    problem = unsupported_platform("nt", "win32")
    assert problem is not None
    first, hint = problem
    assert "Linux and macOS" in first and "'win32'" in first and "\n" not in first
    assert "WSL" in hint and DISTRIBUTION in hint


def test_an_unsupported_platform_is_refused_as_an_error_and_its_hint(
        capsys: pytest.CaptureFixture[str]) -> None:
    problem = unsupported_platform("nt", "win32")
    assert problem is not None
    with pytest.raises(SystemExit) as exited:
        refuse(*problem)
    assert exited.value.code == 1
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(":")[0] for line in lines] == ["error", "hint"]
    assert lines[0] == f"error: {problem[0]}" and lines[1] == f"hint: {problem[1]}"


def _make_plan(target: str, venv: Path) -> list[str]:
    """The commands `make TARGET` would run on a machine without the venv (`make -n`)."""
    # Run under `make test` (CI), the inherited MAKEFLAGS/MAKELEVEL would make this a
    # sub-make that also prints "Entering/Leaving directory" lines.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    done = subprocess.run(["make", "--no-print-directory", "-n", target, f"VENV={venv}"],
                          cwd=ROOT, capture_output=True, text=True, check=True, env=env)
    return done.stdout.splitlines()


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo_installs_what_the_demo_needs_and_make_test_adds_the_tools(
        tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    install = f"{venv}/bin/python -m pip install -q -e ."
    demo = _make_plan("demo", venv)
    assert [line for line in demo if "pip install" in line and "--upgrade pip" not in line] == [
        install]
    assert demo[-1] == f'PATH="{venv}/bin:$PATH" bash examples/demo.sh'
    test = _make_plan("test", venv)
    assert install in test
    assert f"{venv}/bin/python -m pip install -q -e '.[all,test]'" in test
    assert test.index(install) < test.index(f"touch {venv}/.installed-test")


def test_an_editable_install_is_a_plain_path_without_setuptools_warning() -> None:
    # setuptools writes a plain path in a .pth (no import finder at start-up)
    # for a layout whose packages' parent is named as the root; asking for it
    # with `editable_mode=compat` instead prints a warning box at every install.
    setuptools = (ROOT / "pyproject.toml").read_text().split("[tool.setuptools]\n")[1]
    assert setuptools.split("\n\n")[0].splitlines() == ['package-dir = {"" = "."}']
    assert "editable_mode" not in (ROOT / "Makefile").read_text()
