"""`python:` deps: a module and the first-party modules it imports, transitively,
recorded in the lock and named in status when one changes, is newly imported
or no longer imported; `validate` lists what cannot be followed."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import yaml

from tests.conftest import Repo, ran_cmd
from tests.func.test_json import SCHEMA


def python_stage(repo: Repo, root: str = "src/train.py", **extra: Any) -> None:
    body = {"cmd": ran_cmd("train", "echo trained > model.txt"),
            "deps": [{"python": root}, *extra.pop("deps", [])], "outs": ["model.txt"], **extra}
    repo.spec({"train": body})


def built(repo: Repo, files: dict[str, str], root: str = "src/train.py", **extra: Any) -> Repo:
    repo.gen(files)
    python_stage(repo, root, **extra)
    repo.run("init", check=True)
    repo.commit("sources")
    done = repo.run("repro")
    assert done.returncode == 0, done.stderr
    repo.ran()
    return repo


def locked_modules(repo: Repo, task: str = "train") -> dict[str, str | None]:
    rows = yaml.safe_load(repo.read("gitpipe.lock"))["stages"][task].get("python", [])
    return {row["path"]: row.get("imported_by") for row in rows}


def reasons(repo: Repo) -> list[str]:
    done = repo.run("status", "--json", env={"GITPIPE_NO_SEAL": "1"})
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    jsonschema.validate(doc, SCHEMA)
    return [reason for row in doc["stages"] for reason in row["reasons"]]


TRAIN = {
    "src/train.py": "import os\nimport numpy as np\nfrom utils import clean\n",
    "src/utils.py": "def clean(x):\n    return x\n",
}


def test_a_change_to_an_imported_module_names_it_and_its_importer(repo: Repo) -> None:
    built(repo, TRAIN)
    assert locked_modules(repo) == {"src/train.py": None, "src/utils.py": "src/train.py"}
    assert reasons(repo) == []
    repo.gen({"src/utils.py": "def clean(x):\n    return x.strip()\n"})
    assert reasons(repo) == ["python: src/utils.py modified (imported by src/train.py)"]
    done = repo.run("status")
    assert "python: src/utils.py modified (imported by src/train.py)" in done.stdout
    assert repo.run("repro").returncode == 0
    assert repo.ran() == ["train"]
    assert reasons(repo) == []


def test_a_new_import_makes_the_stage_stale_and_a_dropped_one_too(repo: Repo) -> None:
    built(repo, TRAIN)
    repo.gen({"src/helpers.py": "X = 1\n"})
    assert reasons(repo) == []  # a module nothing imports is not a dep
    repo.gen({"src/utils.py": "import helpers\n"})
    assert reasons(repo) == ["python: src/utils.py modified (imported by src/train.py)",
                             "python: src/helpers.py newly imported (by src/utils.py)"]
    repo.run("repro", check=True)
    assert repo.ran() == ["train"]
    assert locked_modules(repo)["src/helpers.py"] == "src/utils.py"
    repo.gen({"src/utils.py": "X = 2\n"})
    assert reasons(repo) == ["python: src/utils.py modified (imported by src/train.py)",
                             "python: src/helpers.py no longer imported"]


def test_every_static_import_form_is_followed_and_nothing_outside_the_project(
        repo: Repo) -> None:
    files = {
        "src/train.py": """\
            from __future__ import annotations
            import json, yaml
            import pkg.sub.leaf
            from pkg import tool, not_a_module
            from typing import TYPE_CHECKING
            if TYPE_CHECKING:
                import typed_only
            try:
                import fast
            except ImportError:
                fast = None
            def later():
                from ns.part import thing
            import importlib
            importlib.import_module("by_name")
            """,
        "src/pkg/__init__.py": "",
        "src/pkg/sub/__init__.py": "from . import sibling\nfrom ..tool import helper\n",
        "src/pkg/sub/sibling.py": "",
        "src/pkg/sub/leaf.py": "from .. import up\n",
        "src/pkg/tool.py": "",
        "src/pkg/up.py": "",
        "src/pkg/unused.py": "",
        "src/typed_only.py": "",
        "fast.py": "",
        "src/ns/part.py": "",
        "src/by_name.py": "",
    }
    built(repo, files)
    assert locked_modules(repo) == {
        "src/train.py": None,
        "src/pkg/__init__.py": "src/train.py",
        "src/pkg/sub/__init__.py": "src/train.py",
        "src/pkg/sub/leaf.py": "src/train.py",
        "src/pkg/tool.py": "src/train.py",
        "src/typed_only.py": "src/train.py",
        "fast.py": "src/train.py",
        "src/ns/part.py": "src/train.py",
        "src/by_name.py": "src/train.py",
        "src/pkg/sub/sibling.py": "src/pkg/sub/__init__.py",
        "src/pkg/up.py": "src/pkg/sub/leaf.py",
    }


def test_a_project_module_that_starts_shadowing_a_third_party_one_is_followed(
        repo: Repo) -> None:
    built(repo, TRAIN)
    repo.run("status", check=True)  # sealed: the seal must see the new file
    repo.age()
    assert repo.run("status").stdout.strip() == "everything is up to date"
    repo.gen({"numpy/__init__.py": "shadow = True\n"})
    assert reasons(repo) == ["python: numpy/__init__.py newly imported (by src/train.py)"]
    assert "numpy/__init__.py newly imported" in repo.run("status").stdout


def test_a_root_named_as_a_module_and_one_that_names_nothing(repo: Repo) -> None:
    files = {"src/pkg/__init__.py": "", "src/pkg/tool.py": "import pkg.more\n",
             "src/pkg/more.py": ""}
    built(repo, files, root="pkg.tool")
    assert locked_modules(repo) == {"src/pkg/__init__.py": None, "src/pkg/tool.py": None,
                                    "src/pkg/more.py": "src/pkg/tool.py"}
    python_stage(repo, "pkg.gone")
    assert reasons(repo) == ["python: pkg.gone names no module file of the project",
                             "python: src/pkg/more.py no longer imported",
                             "python: src/pkg/tool.py no longer imported"]
    done = repo.run("validate")
    assert "python: pkg.gone names no module file of the project" in done.stderr
    done = repo.run("repro")  # as a missing dep: the stage fails, nothing is recorded
    assert done.returncode == 1 and repo.ran() == []
    assert "stage 'train': python: pkg.gone names no module file of the project" \
        in done.stderr
    assert "an installed or standard-library module is not one" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_stage_wdir_is_searched_before_the_root(repo: Repo) -> None:
    files = {"tools/run.py": "import helper\n", "tools/lib/helper.py": "", "helper.py": ""}
    built(repo, files, root="run.py", wdir="tools")
    assert locked_modules(repo) == {"tools/run.py": None, "helper.py": "tools/run.py"}


def test_validate_lists_dynamic_imports_and_modules_that_do_not_parse(repo: Repo) -> None:
    files = {"src/train.py": "import importlib, broken\nname = 'x'\n"
                             "importlib.import_module(name)\n__import__(name)\n",
             "src/broken.py": "def (:\n"}
    built(repo, files)
    done = repo.run("validate")
    assert done.returncode == 0, done.stderr
    assert "src/train.py:3: importlib.import_module(...)" in done.stderr
    assert "src/train.py:4: __import__(...) cannot be followed" in done.stderr
    assert "add what it imports as a plain dep" in done.stderr
    assert "src/broken.py: does not parse (line 1)" in done.stderr
    doc = json.loads(repo.run("validate", "--json").stdout)
    jsonschema.validate(doc, SCHEMA)
    assert any(w.startswith("src/train.py:4: __import__(...)") for w in doc["warnings"])
    # A module that does not parse is still a dep, by its bytes.
    repo.gen({"src/broken.py": "def (:\n  # still broken\n"})
    assert reasons(repo) == ["python: src/broken.py modified (imported by src/train.py)"]


def test_a_bad_python_dep_in_the_spec_names_file_line_and_stage(repo: Repo) -> None:
    repo.spec({"train": {"cmd": "true", "deps": [
        "data.csv", {"python": "../outside.py"}, {"python": "/etc/x.py"},
        {"python": "pkg..mod"}, {"pyton": "x.py"}, {"python": "src/notes.txt"}]}})
    done = repo.run("validate")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    for text in ("python: '../outside.py': it resolves outside the repository",
                 "python: '/etc/x.py': absolute paths are not allowed",
                 "python: 'pkg..mod': neither a module file",
                 "a mapping in 'deps' must be {python: src/module.py}",
                 "python: 'src/notes.txt': a module file's name ends in '.py'"):
        assert text in done.stderr, done.stderr
    assert "gitpipe.yaml:6: stage 'train': python: '../outside.py'" in done.stderr


def test_a_project_kept_between_calls_sees_a_module_edited_in_between(repo: Repo) -> None:
    built(repo, TRAIN)
    project = repo.project()
    try:
        assert not project.status().stale
        repo.gen({"src/utils.py": "def clean(x):\n    return None\n"})
        reasons = [str(r) for r in project.status().tasks[0].reasons]
        assert reasons == ["python: src/utils.py modified (imported by src/train.py)"]
    finally:
        project.close()


def test_status_at_a_revision_follows_the_commits_modules(repo: Repo) -> None:
    built(repo, TRAIN)
    repo.commit("built")
    repo.gen({"src/utils.py": "import helpers\n", "src/helpers.py": "H = 1\n"}, commit="edit")
    repo.gen({"src/utils.py": "def clean(x):\n    return x\n"})  # the work tree as built
    assert reasons(repo) == []
    done = repo.run("status", "--rev", "HEAD")
    assert "python: src/utils.py modified (imported by src/train.py)" in done.stdout
    assert "python: src/helpers.py newly imported (by src/utils.py)" in done.stdout
    assert "up to date" in repo.run("status", "--rev", "HEAD~1").stdout
