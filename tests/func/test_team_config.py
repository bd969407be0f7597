"""A team's committed `.gitpipe/config.yaml` as people write one: folder
paths in their own script and spacing, an S3 endpoint with a port, a UNC
path, a Kubernetes `env` with the names a pod takes. Each is taken as
written; what is refused (a control character, a bidi
control, a no-break space where a space was meant, a name no pod takes) is
said naming the file, the key, the character and what to do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Repo

# Spaces of other widths and the joiner Persian is written with are part of
# a folder's own name: a Japanese full-width space, the narrow no-break space
# macOS writes in file names, the zero-width non-joiner; and emoji: a family
# (joined by zero-width joiners), Scotland's flag (in tag characters).
SCOTLAND = "\U0001f3f4" + "".join(chr(0xE0000 + ord(c)) for c in "gbsct") + "\U000e007f"
FOLDERS = ("プロジェクト\u3000データ", "Shot at 10.00\u202fAM",
           "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", "Müller data",
           "\U0001f468\u200d\U0001f469\u200d\U0001f467 family", f"{SCOTLAND} data")
CONFIG = """\
core:
  remote: store
remotes:
  store:
    url: {store}
  minio:
    url: s3://team-bucket/gitpipe
    endpoint_url: http://minio.internal:9000
    client_kwargs:
      region_name: eu-west-1
  unc:
    url: \\\\fileserver\\share\\gitpipe
{others}
kubernetes:
  namespace: ml-team
  env:
    PYTHONUNBUFFERED: "1"
    spring.profiles.active: prod
    JAVA-OPTS: -Xmx2g
    MODEL_NAME: Résumé classifier — v2
"""


def team_repo(make_repo: Any, tmp_path: Path, store: str, others: str = "") -> Repo:
    origin = make_repo("origin")
    origin.spec({"a": {"cmd": "echo a > a.txt", "outs": ["a.txt"]}})
    origin.gen({".gitpipe/config.yaml": CONFIG.format(store=store, others=others)},
               commit="team config")
    return origin


@pytest.mark.parametrize("folder", FOLDERS)
def test_a_teams_folder_in_its_own_script_is_taken_and_pushed_to(
        make_repo: Any, tmp_path: Path, folder: str) -> None:
    store = tmp_path / folder
    others = "".join(f"  other{n}:\n    url: /data/{name}/cache\n"
                     for n, name in enumerate(FOLDERS))
    origin = team_repo(make_repo, tmp_path, str(store), others)
    for command in (("validate",), ("repro",), ("push",)):
        done = origin.run(*command)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
    assert (store / "files").is_dir()
    listed = origin.run("remote", "list", check=True).stdout
    assert f"store\t{store} (default)" in listed.splitlines()
    for n, name in enumerate(FOLDERS):
        assert f"other{n}\t/data/{name}/cache" in listed.splitlines(), listed
    assert "unc\t\\\\fileserver\\share\\gitpipe" in listed.splitlines(), listed


def test_a_kubernetes_env_name_a_pod_takes_reaches_the_manifest(
        make_repo: Any, tmp_path: Path) -> None:
    origin = team_repo(make_repo, tmp_path, str(tmp_path / "store"))
    origin.spec({"a": {"cmd": "true", "executor": "kubernetes", "image": "gitpipe:test"}},
                commit="kube stage")
    done = origin.run("k8s", "manifest", "a")
    assert done.returncode == 0, done.stderr
    assert "name: spring.profiles.active" in done.stdout and "name: JAVA-OPTS" in done.stdout


REFUSED = [
    ("remotes:\n  store:\n    url: \"/srv/team\u00a0data\"\n",
     "remotes.store.url holds a no-break space (U+00A0) at character 10: "
     "'/srv/team\\xa0data'"),
    ("remotes:\n  store:\n    url: \"s3://bucket/\u202etxt.exe\"\n",
     "remotes.store.url holds a bidi control (U+202E) at character 13: "
     "'s3://bucket/\\u202etxt.exe'"),
    ("remotes:\n  \"store\u00a0\":\n    url: /srv/x\n",
     "remotes.'store\\xa0' is not a name: it holds a no-break space (U+00A0) at character 6"),
    ("remotes:\n  store:\n    url: /srv/x\n    \"end\u200bpoint_url\": http://h:9000\n",
     "remotes.store has an option named 'end\\u200bpoint_url', which is no storage option's "
     "name (it holds an invisible format character (U+200B) at character 4)"),
    # a tag character outside a flag is text no terminal shows
    ("remotes:\n  store:\n    url: \"/srv/a\U000e0067b\"\n",
     "remotes.store.url holds an invisible format character (U+E0067) at character 7: "
     "'/srv/a\\U000e0067b'"),
    ("kubernetes:\n  env:\n    \"1X\": secret-value\n",
     "kubernetes.env.'1X' is not an environment variable's name"),
]


@pytest.mark.parametrize(("config", "said"), REFUSED)
def test_what_a_config_must_not_hold_is_named_with_its_key_and_what_to_do(
        repo: Repo, config: str, said: str) -> None:
    repo.spec({"a": {"cmd": "echo a > a.txt", "outs": ["a.txt"]}})
    repo.gen({".gitpipe/config.yaml": config}, commit="config")
    done = repo.run("validate")
    assert done.returncode == 2, done.stdout
    first, *rest = done.stderr.splitlines()
    assert first == f"error: .gitpipe/config.yaml: {said}", done.stderr
    assert rest and rest[0].startswith("hint: "), done.stderr
    assert "secret-value" not in done.stderr
    assert "control character" not in done.stderr


@pytest.mark.parametrize("folder", FOLDERS)
def test_remote_add_names_a_new_folder_as_it_was_typed(repo: Repo, tmp_path: Path,
                                                        folder: str) -> None:
    """The note on a folder that does not exist yet quotes it as typed: repr
    wrote a full-width space or a joiner as an escape the name does not hold."""
    repo.spec({"a": {"cmd": "echo a > a.txt", "outs": ["a.txt"]}})
    repo.run("init", check=True)
    store = str(tmp_path / folder)
    done = repo.run("remote", "add", "store", store, check=True)
    assert f"note: folder '{store}' does not exist yet" in done.stderr, done.stderr
