"""A clone's committed config names another project's folder remote, and CI
runs `gitpipe gc --remote store -A --yes` on it: every object there that no
lock of the clone names was deleted, the other project's pushed outs
included. `--yes` now deletes only from a remote whose URL the user's own
config.local.yaml sets; a committed URL is confirmed on a terminal."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot
from tests.security.test_gc import allowed, project_with_remote, refused
from tests.security.test_seen_record import _bucket_on, _client, _ran, second_s3_server

__all__ = ["second_s3_server"]  # the fixture, used by name


def _evil_clone(make_repo: Callable[[str], Repo], tmp_path: Path, other_store: Path) -> Repo:
    """A project whose committed remote `store` is another project's folder."""
    evil = make_repo("evil")
    evil.spec({"a": {"cmd": "echo a > a.txt", "outs": ["a.txt"]}})
    evil.run("remote", "add", "--default", "store", str(other_store), check=True)
    evil.run("repro", check=True)
    evil.commit("a remote that is another project's")
    return evil.clone_to(tmp_path / "ci")


def test_gc_yes_never_deletes_from_a_committed_url(make_repo: Callable[[str], Repo],
                                                   tmp_path: Path) -> None:
    other_store = tmp_path / "store"
    project_with_remote(make_repo, str(other_store))  # the other project, pushed there
    ci = _evil_clone(make_repo, tmp_path, other_store)
    pushed = sorted(str(path) for path in (other_store / "files").rglob("*") if path.is_file())
    assert pushed
    before = snapshot(tmp_path)
    done = ci.run("gc", "--remote", "store", "-A", "--yes")
    refused(done, "remote 'store'", "comes from the committed .gitpipe/config.yaml",
            "nothing was deleted", "gitpipe remote modify --local store url")
    assert done.returncode == 2
    asks = ci.run("gc", "--remote", "store", "-A", stdin=subprocess.DEVNULL)
    refused(asks, "there is no terminal", "config.local.yaml")
    assert_only_changed(before, snapshot(tmp_path), allowed(ci, fetched=True))
    # The user's own config names it: --yes is their answer, as before.
    ci.own_remote()
    gone = ci.run("gc", "--remote", "store", "-A", "--yes", check=True)
    assert "removed" in gone.stdout and not any(Path(p).exists() for p in pushed[:1]), \
        gone.stdout


def test_the_api_never_deletes_from_a_committed_url_unasked(
        make_repo: Callable[[str], Repo], tmp_path: Path) -> None:
    """`Project.gc(remote=…)` without `confirm` is the API's `--yes`: a
    script or notebook on a clone deleted the other project's objects at the
    URL the clone committed. The rule is the use case's, so the API and the
    CLI agree: a committed URL is refused unless the caller answers."""
    from gitpipe.core.errors import BadInputError
    from gitpipe.git.repo import HistoryScope
    from gitpipe.usecases.garbage import GcScope

    other_store = tmp_path / "store"
    project_with_remote(make_repo, str(other_store))
    ci = _evil_clone(make_repo, tmp_path, other_store)
    scope = GcScope(history=HistoryScope(all_commits=True))
    before = snapshot(tmp_path)
    with pytest.raises(BadInputError, match="comes from the committed"):
        ci.project().gc(scope, remote="store")
    assert_only_changed(before, snapshot(tmp_path), allowed(ci, fetched=True))
    # The caller's own answer, or the URL set as the user's own: it goes ahead.
    asked: list[str] = []
    plan = ci.project().gc(scope, remote="store",
                           confirm=lambda plan: asked.append(plan.where) or True)
    assert asked and plan.removed
    assert not any(other_store.rglob(f"*{plan.removed[0][2:]}"))


@pytest.mark.s3
def test_gc_yes_never_deletes_where_a_committed_option_points_a_local_url(
        make_repo: Callable[[str], Repo], tmp_path: Path, s3_env: dict[str, str],
        s3_server: str, second_s3_server: str) -> None:
    """CI sets the URL in config.local.yaml (its own bucket, on the endpoint its
    environment names); the clone's committed `endpoint_url` for that remote
    moves it to another server where another project pushed to the same bucket
    and prefix: `--yes` deleted that project's objects there."""
    bucket, url, theirs = _another_projects_objects(make_repo, s3_server, second_s3_server)
    evil = make_repo("evil")
    evil.spec({"a": {"cmd": "echo a > a.txt", "outs": ["a.txt"]}})
    evil.run("remote", "add", "--default", "store", url, check=True)
    evil.run("remote", "modify", "store", "endpoint_url", second_s3_server, check=True)
    evil.run("repro", check=True)
    evil.commit("the URL CI sets, on another server")
    ci = evil.clone_to(tmp_path / "ci").own_remote()
    before = snapshot(tmp_path)
    done = ci.run("gc", "--remote", "store", "-A", "--yes")
    refused(done, "remote 'store'", "endpoint_url", "committed .gitpipe/config.yaml",
            "nothing was deleted", "gitpipe remote modify --local store endpoint_url")
    assert done.returncode == 2
    assert _keys(second_s3_server, bucket) == theirs
    assert_only_changed(before, snapshot(tmp_path), allowed(ci, fetched=True))
    # Set locally too, the option is the user's choice: --yes goes ahead.
    ci.run("remote", "modify", "--local", "store", "endpoint_url", second_s3_server, check=True)
    gone = ci.run("gc", "--remote", "store", "-A", "--yes", check=True)
    assert "removed" in gone.stdout and _keys(second_s3_server, bucket) != theirs, gone.stdout


def _another_projects_objects(make_repo: Callable[[str], Repo], s3_server: str,
                              second_s3_server: str) -> tuple[str, str, list[str]]:
    """(bucket, URL, keys): another project pushed to the URL's bucket on the
    second server, where a clone's committed option may lead CI's `--yes`."""
    bucket = _bucket_on(s3_server, second_s3_server)
    url = f"s3://{bucket}/cache"
    other = _ran(make_repo, url, {"store": second_s3_server})
    assert other.run("push", "-r", "store").returncode == 0
    theirs = _keys(second_s3_server, bucket)
    assert theirs
    return bucket, url, theirs


def _keys(endpoint: str, bucket: str) -> list[str]:
    listed = _client(endpoint).list_objects_v2(Bucket=bucket).get("Contents", [])
    return sorted(item["Key"] for item in listed)


@pytest.mark.s3
def test_gc_yes_never_deletes_where_a_committed_nested_option_points_a_local_url(
        make_repo: Callable[[str], Repo], tmp_path: Path, s3_env: dict[str, str],
        s3_server: str, second_s3_server: str) -> None:
    """CI's config.local.yaml sets the URL and a `client_kwargs` of its own
    (a region); the clone's committed `client_kwargs.endpoint_url` is merged
    into it key by key and moves the URL to another server, where `--yes`
    deleted another project's objects: an option inside a mapping the user
    sets is still the committed file's choice."""
    import yaml

    bucket, url, theirs = _another_projects_objects(make_repo, s3_server, second_s3_server)
    evil = make_repo("evil")
    evil.spec({"a": {"cmd": "echo a > a.txt", "outs": ["a.txt"]}})
    evil.run("remote", "add", "--default", "store", url, check=True)
    evil.gen({".gitpipe/config.yaml": {"remotes": {"store": {
        "url": url, "client_kwargs": {"endpoint_url": second_s3_server}}}}})
    evil.run("repro", check=True)
    evil.commit("the URL CI sets, on another server, inside client_kwargs")
    ci = evil.clone_to(tmp_path / "ci")
    (ci.path / ".gitpipe" / "config.local.yaml").write_text(yaml.safe_dump({"remotes": {
        "store": {"url": url, "client_kwargs": {"region_name": "us-east-1"}}}}))
    before = snapshot(tmp_path)
    done = ci.run("gc", "--remote", "store", "-A", "--yes")
    refused(done, "remote 'store'", "client_kwargs.endpoint_url",
            "committed .gitpipe/config.yaml", "nothing was deleted")
    assert done.returncode == 2
    assert _keys(second_s3_server, bucket) == theirs
    assert_only_changed(before, snapshot(tmp_path), allowed(ci, fetched=True))


def test_gc_yes_never_deletes_a_committed_url_s_packs(make_repo: Callable[[str], Repo],
                                                      tmp_path: Path) -> None:
    """gc asked its confirmation only where loose objects, run entries or
    logs would go: on a remote whose garbage was whole packs (or a killed
    push's leftovers) alone, `--yes` on a committed URL deleted the other
    project's packs, then refused with "nothing was deleted"."""
    from tests.security.test_packs import pushed

    _, index, _ = pushed(make_repo, tmp_path)
    other_store = index.parent.parent
    for folder in ("files", "runs"):  # its packs alone: what the plan holds
        if (other_store / folder).exists():
            subprocess.run(["rm", "-rf", str(other_store / folder)], check=True)
    ci = _evil_clone(make_repo, tmp_path / "evil", other_store)
    before = snapshot(tmp_path)
    done = ci.run("gc", "--remote", "store", "-A", "--yes")
    refused(done, "remote 'store'", "comes from the committed .gitpipe/config.yaml",
            "nothing was deleted")
    assert done.returncode == 2
    assert index.exists()
    assert_only_changed(before, snapshot(tmp_path), allowed(ci, fetched=True))
