"""Attack tests for the shared run-cache: entries on a remote are restored only
when a key the remote's `trust:` lists signed them for exactly that key
(stage, fingerprint, scope). Each attack is planted on a real folder remote
or moto's S3 server, by the means anyone who can write the remote has, and
`repro --pull` in a real clone must ignore it with a note and run the stage."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitpipe.storage.cache import run_relpath
from gitpipe.trust.signedruns import Signer, envelope
from tests.conftest import Repo, ran_cmd
from tests.security.conftest import assert_only_changed, snapshot

SECRET = "s3cr3t-hmac-VALUE-7f1c9e"  # GITPIPE_CACHE_KEY's value: must never show up anywhere
STAGE = {"make": {"cmd": ran_cmd("make", "cat in.txt > out.txt"),
                  "deps": ["in.txt"], "outs": ["out.txt"]}}
# What a reader's clone may change: its outs, its own cache and state, the run log.
READER_OWN = ("laptop/out.txt", "laptop/gitpipe.lock", "laptop/.gitpipe", "laptop/runs.log")


@pytest.fixture(params=["folder", pytest.param("s3", marks=pytest.mark.s3)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "folder":
        return str(tmp_path / "store")
    return str(request.getfixturevalue("s3_bucket"))


def ssh_key(tmp_path: Path, name: str) -> tuple[Path, str]:
    """A new ed25519 key pair without a passphrase: (private key's path, public key line)."""
    folder = tmp_path / "keys"
    folder.mkdir(exist_ok=True)
    path = folder / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{name}@ci",
                    "-f", str(path)], check=True, capture_output=True)
    return path, (folder / f"{name}.pub").read_text().strip()


class Keys:
    """The trusted key of one kind: what the remote's trust lists, the
    environment of the job that signs, and the environment of a reader."""

    def __init__(self, kind: str, tmp_path: Path) -> None:
        self.kind = kind
        if kind == "hmac":
            self.trust: list[dict[str, str]] = [{"hmac_env": "GITPIPE_CACHE_KEY"}]
            self.signer = {"GITPIPE_CACHE_KEY": SECRET}
            self.reader = {"GITPIPE_CACHE_KEY": SECRET}  # HMAC: readers hold the secret too
        else:
            path, public = ssh_key(tmp_path, "main")
            self.trust = [{"ssh": public}]
            self.signer = {"GITPIPE_SIGNING_KEY": str(path)}
            self.reader = {}  # SSH: the public key in the config is enough

    def attacker_signer(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Signer:
        """A key of the same kind that the remote does not trust."""
        if self.kind == "hmac":
            monkeypatch.setenv("ATTACKER_KEY", "not-the-secret")
            return Signer(hmac_envs=("ATTACKER_KEY",))
        return Signer(ssh_key=str(ssh_key(tmp_path, "attacker")[0]))


def set_remote(repo: Repo, **keys: Any) -> None:
    """Set keys of remote 'store' in the committed config, as a user edits it."""
    path = repo.path / ".gitpipe/config.yaml"
    data = yaml.safe_load(path.read_text())
    data["remotes"]["store"].update(keys)
    path.write_text(yaml.safe_dump(data))


def plant(repo: Repo, key: str, data: bytes) -> None:
    """Write `key` on the project's remote, as anyone who can write there could."""
    remote = repo.project().remote()
    remote.fs.makedirs(remote.full(key).rsplit("/", 1)[0], exist_ok=True)
    with remote.fs.open(remote.full(key), "wb") as handle:
        handle.write(data)


def read(repo: Repo, key: str) -> bytes:
    data = repo.project().remote().get_bytes(key)
    assert data is not None, key
    return data


def shared(make_repo: Any, url: str, keys: Keys) -> tuple[Repo, dict[str, str]]:
    """A main job's work: a run with in.txt=poison, then in.txt=good, each
    pushed signed, the good one committed. Returns the origin and the remote
    keys of both entries ({"good": …, "poison": …})."""
    origin = make_repo("origin")
    origin.gen({"in.txt": "poison\n"}).spec(STAGE)
    origin.run("init", check=True)
    origin.run("remote", "add", "-d", "store", url, check=True)
    set_remote(origin, trust=keys.trust)
    entries = {}
    for word in ("poison", "good"):
        origin.gen({"in.txt": f"{word}\n"})
        origin.run("repro", "--push", check=True, env=keys.signer)
        entries[word] = run_relpath("make", origin.project().lock_entries["make"].fingerprint)
    origin.commit("good results")
    origin.ran()
    return origin, entries


def reader(origin: Repo) -> Repo:
    """A fresh clone: no outs, no cache; `repro --pull` is how it gets them.
    Its lock names outs no one has: a stage whose inputs match its lock entry
    is restored from the outs the lock records when they are on hand, so only
    the run-cache can restore these."""
    laptop = origin.clone_to(origin.path.parent / "laptop")
    outs_nowhere(laptop)
    return laptop


def outs_nowhere(repo: Repo) -> None:
    """Make the lock name out objects that exist nowhere."""
    lock = repo.path / "gitpipe.lock"
    data = yaml.safe_load(lock.read_text())
    for entry in data["stages"].values():
        for out in entry["outs"]:
            out["hash"] = f"xxh3:{'0' * 32}"
    lock.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.mark.parametrize("kind", ["hmac", "ssh"])
def test_a_signed_entry_restores(make_repo: Any, tmp_path: Path, store_url: str,
                                 kind: str) -> None:
    keys = Keys(kind, tmp_path)
    origin, entries = shared(make_repo, store_url, keys)
    body = json.loads(read(origin, entries["good"]))
    assert len(body["signatures"]) == 1 and body["key"] == entries["good"]
    laptop = reader(origin)
    done = laptop.run("repro", "--pull", check=True, env=keys.reader)
    assert laptop.ran() == [] and ": from run-cache" in done.stdout, \
        done.stdout + done.stderr
    assert laptop.read("out.txt") == "good\n"


def _poisoned(origin: Repo, entries: dict[str, str], attack: str, keys: Keys,
              tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> bytes:
    """The remote entry for the good fingerprint, replaced as `attack` says;
    each one would restore the poison out."""
    good, poison = entries["good"], entries["poison"]
    poison_body = json.loads(read(origin, poison))
    poison_entry = poison_body["entry"].encode()
    if attack == "unsigned":
        return envelope(good, poison_entry, Signer())
    if attack == "plain entry":  # as gitpipe wrote entries before they were signed
        return poison_entry
    if attack == "untrusted key":
        return envelope(good, poison_entry, keys.attacker_signer(tmp_path, monkeypatch))
    if attack == "replayed":  # correctly signed, for another fingerprint
        return read(origin, poison)
    assert attack == "tampered"  # the good entry's signatures over altered bytes
    body = json.loads(read(origin, good))
    body["entry"] = poison_body["entry"]
    return json.dumps(body).encode()


@pytest.mark.parametrize("kind", ["hmac", "ssh"])
@pytest.mark.parametrize(("attack", "why"), [
    ("unsigned", "is not signed"),
    ("plain entry", "is not a signed entry"),
    ("untrusted key", "carries no signature a trusted key made for it"),
    ("replayed", "carries no signature a trusted key made for it"),
    ("tampered", "carries no signature a trusted key made for it"),
])
def test_an_entry_not_signed_for_its_key_by_a_trusted_key_is_ignored_and_the_stage_runs(
        make_repo: Any, tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch,
        kind: str, attack: str, why: str) -> None:
    keys = Keys(kind, tmp_path)
    origin, entries = shared(make_repo, store_url, keys)
    plant(origin, entries["good"], _poisoned(origin, entries, attack, keys, tmp_path,
                                             monkeypatch))
    laptop = reader(origin)
    before = snapshot(tmp_path)
    done = laptop.run("repro", "--pull", env=keys.reader)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    note = f"warning make: remote 'store': run-cache entry {entries['good']} {why}"
    assert note in done.stderr and "the stage runs instead" in done.stderr, done.stderr
    assert laptop.ran() == ["make"]
    assert laptop.read("out.txt") == "good\n"
    assert_only_changed(before, snapshot(tmp_path), READER_OWN)


def test_without_trust_no_remote_entry_is_restored_and_a_hint_says_why(
        make_repo: Any, tmp_path: Path, store_url: str) -> None:
    origin = make_repo("origin")
    origin.gen({"in.txt": "good\n"}).spec(STAGE)
    origin.run("init", check=True)
    origin.run("remote", "add", "-d", "store", store_url, check=True)
    origin.run("repro", "--push", check=True)
    origin.commit("results")
    origin.ran()
    laptop = reader(origin)
    before = snapshot(tmp_path)
    done = laptop.run("repro", "--pull")
    assert done.returncode == 0 and laptop.ran() == ["make"], done.stderr
    assert "is not trusted: the remote has no 'trust:' list" in done.stderr
    assert done.stderr.count("remotes.store.trust in .gitpipe/config.yaml") == 1
    fetched = laptop.run("fetch", "--run-cache")
    assert fetched.returncode == 0 and "no run-cache entry was fetched" in fetched.stderr
    assert_only_changed(before, snapshot(tmp_path), READER_OWN)


def test_fetch_run_cache_keeps_only_trusted_entries(make_repo: Any, tmp_path: Path,
                                                    store_url: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    keys = Keys("ssh", tmp_path)
    origin, entries = shared(make_repo, store_url, keys)
    plant(origin, entries["good"], _poisoned(origin, entries, "untrusted key", keys,
                                             tmp_path, monkeypatch))
    laptop = origin.clone_to(origin.path.parent / "laptop")
    done = laptop.run("fetch", "--run-cache", check=True)
    assert "fetched 1 run-cache entry" in done.stdout, done.stdout + done.stderr
    assert f"run-cache entry {entries['good']} carries no signature" in done.stderr
    cached = laptop.path / ".gitpipe/cache"
    assert (cached / entries["poison"]).exists() and not (cached / entries["good"]).exists()


def test_a_pull_request_scope_is_read_only_when_asked(make_repo: Any, tmp_path: Path,
                                                      store_url: str) -> None:
    keys = Keys("ssh", tmp_path)
    origin, _ = shared(make_repo, store_url, keys)
    # The pull request's job: unsigned (it holds no key), into its own scope,
    # which the project trusts for every well-formed entry.
    set_remote(origin, scope_trust="any")
    origin.gen({"in.txt": "from the pull request\n"}).commit("pr-7: new input")
    done = origin.run("repro", "--push", "--scope", "pr-7", check=True)
    origin.ran()
    pr_entry = run_relpath("make", origin.project().lock_entries["make"].fingerprint)
    assert f"scopes/pr-7/{pr_entry}" in origin.project().remote().listing("scopes"), done.stderr
    assert pr_entry not in origin.project().remote().listing("runs")
    origin.commit("pr-7: results")
    laptop = reader(origin)
    before = snapshot(tmp_path)
    laptop.run("repro", "--pull", check=True)
    assert laptop.ran() == ["make"], "the main scope has no entry for it"
    (laptop.path / "out.txt").unlink()
    (laptop.path / ".gitpipe/cache" / pr_entry).unlink()  # this machine's own run
    outs_nowhere(laptop)  # and its record
    done = laptop.run("repro", "--pull", "--scope", "pr-7", check=True)
    assert laptop.ran() == [] and ": from run-cache" in done.stdout, done.stderr
    assert laptop.read("out.txt") == "from the pull request\n"
    # Trusted in its scope only: it does not join this machine's run-cache.
    assert not (laptop.path / ".gitpipe/cache" / pr_entry).exists()
    assert_only_changed(before, snapshot(tmp_path), READER_OWN)


@pytest.mark.parametrize("scope", ["../main", "a/b", "pr\n1", "main", "."])
def test_a_bad_scope_name_is_refused_before_anything_moves(make_repo: Any, tmp_path: Path,
                                                           scope: str) -> None:
    keys = Keys("hmac", tmp_path)
    origin, _ = shared(make_repo, str(tmp_path / "store"), keys)
    before = snapshot(tmp_path)
    for args in (["push", "--scope", scope], ["repro", "--pull", "--scope", scope],
                 ["fetch", "--run-cache", "--scope", scope]):
        done = origin.run(*args, env=keys.signer)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert f"scope {scope!r} may hold only letters" in done.stderr, done.stderr
    assert_only_changed(before, snapshot(tmp_path), ("origin/.gitpipe",))
    assert not (tmp_path / "store/scopes").exists()


def test_the_hmac_secret_is_never_written_or_printed(make_repo: Any, tmp_path: Path) -> None:
    keys = Keys("hmac", tmp_path)
    origin, _ = shared(make_repo, str(tmp_path / "store"), keys)
    outputs = []
    for args in (["status"], ["status"], ["push", "--run-cache"], ["remote", "list"],
                 ["validate"], ["repro", "--pull", "--push", "-v"], ["fsck", "--remote", "store"],
                 ["runs"]):
        done = origin.run(*args, env=keys.signer)
        outputs += [done.stdout, done.stderr]
    laptop = reader(origin)
    done = laptop.run("repro", "--pull", env=keys.reader)
    outputs += [done.stdout, done.stderr]
    assert laptop.ran() == []
    assert not any(SECRET in text for text in outputs)
    folders = [tmp_path, Path(os.environ["XDG_CACHE_HOME"])]
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file() and not path.is_symlink():
                assert SECRET.encode() not in path.read_bytes(), path


@pytest.mark.parametrize(("config", "problem"), [
    ({"trust": [{"hmac_env": "GITPIPE_CACHE"}]}, "end in _KEY, _SECRET, _TOKEN or _PASSWORD"),
    ({"trust": [{"hmac_env": "AWS_SECRET_ACCESS_KEY"}]}, "must start with GITPIPE_"),
    ({"trust": [{"ssh": "not a key\nother"}]}, "is not a public key line"),
    ({"trust": "everyone"}, "must be 'any' or a non-empty list of keys"),
    ({"scopes": ["../x"]}, "'../x' may hold only letters"),
    ({"signing_key": "~/.ssh/id_ed25519"}, "signing_key is this machine's choice"),
])
def test_the_committed_config_cannot_name_a_bad_trust_list_or_a_signing_key(
        repo: Repo, tmp_path: Path, config: dict[str, Any], problem: str) -> None:
    repo.gen({"in.txt": "x\n"}).spec(STAGE)
    repo.run("init", check=True)
    repo.run("remote", "add", "-d", "store", str(tmp_path / "store"), check=True)
    set_remote(repo, **config)
    before = snapshot(tmp_path)
    done = repo.run("repro", "--pull")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert ".gitpipe/config.yaml: remotes.store." in done.stderr and problem in done.stderr
    assert repo.ran() == []
    assert_only_changed(before, snapshot(tmp_path), ("repo/.gitpipe",))
