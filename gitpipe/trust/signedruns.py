"""Run-cache entries on a remote: signed by whoever pushes them, trusted only
when a key the reader trusts signed them, and kept apart by write scope.

A remote entry is an envelope around the exact bytes of the local entry,
with signatures over those bytes *and* the remote key they were pushed to,
so an entry copied under another fingerprint, stage or scope no longer
verifies. Two kinds of key: HMAC-SHA256 with a secret from the environment
(readers need the secret too), and SSH signatures (`ssh-keygen -Y`, as
git's `gpg.format=ssh`; readers need only the public key). The secret is
read from the environment when used and never written, logged or shown.
"""

from __future__ import annotations

import json
import os
from typing import NamedTuple

from gitpipe.trust.sizes import loads_record

ENVELOPE = "gitpipe_run_entry"
VERSION = 1
NAMESPACE = "gitpipe-run-cache"  # ssh-keygen's namespace: no other use of the key verifies
SIGNING_KEY_ENV = "GITPIPE_SIGNING_KEY"  # the pusher's SSH private key (a path)
MAIN = "main"  # the trusted scope: runs/ at the remote's top
_SCOPE_MAX = 64
# A pusher signs with each of its keys once; an entry with more signatures is
# planted, and each SSH signature checked costs a process.
MAX_SIGNATURES = 8


class TrustedKey(NamedTuple):
    """One key a remote's `trust:` lists: `hmac` (value: the environment
    variable holding the secret) or `ssh` (value: the public key line)."""

    kind: str
    value: str


class TrustPolicy(NamedTuple):
    """Which remote entries are trusted: those signed by one of `keys`, or
    every well-formed one (`any`, the explicit opt-out). `configured` is False
    where the remote says nothing (then nothing is trusted)."""

    keys: tuple[TrustedKey, ...] = ()
    any: bool = False
    configured: bool = False


class Signer(NamedTuple):
    """What the pusher signs with: the HMAC secrets' variables (those of the
    trusted keys that are set) and an SSH private key's path."""

    hmac_envs: tuple[str, ...] = ()
    ssh_key: str | None = None

    def signs(self) -> bool:
        return bool(self.hmac_envs or self.ssh_key)


class Sharing(NamedTuple):
    """How run-cache entries travel through one remote: who is trusted in the
    main scope and in named scopes, which named scopes are read besides main,
    which scope is written (None: main), and the pusher's keys."""

    trust: TrustPolicy = TrustPolicy()
    scope_trust: TrustPolicy = TrustPolicy()
    read_scopes: tuple[str, ...] = ()
    write_scope: str | None = None
    signer: Signer = Signer()

    def scopes(self) -> tuple[str | None, ...]:
        """Where a reader looks, in order: the main scope, then the named ones."""
        return (None, *self.read_scopes)

    def policy(self, scope: str | None) -> TrustPolicy:
        return self.trust if scope is None else self.scope_trust


def scope_problem(name: object) -> str | None:
    """What makes `name` unfit as a scope (it becomes part of a remote key)."""
    if not isinstance(name, str) or not name:
        return "is not a name"
    if len(name) > _SCOPE_MAX:
        return f"is longer than {_SCOPE_MAX} characters"
    if name in (".", "..") or name == MAIN or not all(
            char.isascii() and (char.isalnum() or char in "-_.") for char in name):
        return ("may hold only letters, digits, '-', '_' and '.' (no '/', no '..', no "
                f"control character), and is not {MAIN!r}")
    return None


def remote_key(rel: str, scope: str | None) -> str:
    """Where the entry `runs/<task>/<hex>` lives on a remote in `scope`."""
    return rel if scope is None else f"scopes/{scope}/{rel}"


def shown_scope(scope: str | None) -> str:
    return "the main scope" if scope is None else f"scope {scope!r}"


def _message(key: str, entry: bytes) -> bytes:
    return f"{ENVELOPE} {VERSION}\0{key}\0".encode() + entry


# -- signing -------------------------------------------------------------------------

def envelope(key: str, entry: bytes, signer: Signer) -> bytes:
    """The remote form of a local entry pushed to `key`, signed by `signer`'s keys."""
    message = _message(key, entry)
    signatures: list[dict[str, str]] = []
    for variable in signer.hmac_envs:
        secret = os.environ.get(variable)
        if secret:
            signatures.append({"hmac-sha256": _hmac(secret, message)})
    if signer.ssh_key:
        signatures.append({"ssh": _ssh_sign(signer.ssh_key, message)})
    body = {ENVELOPE: VERSION, "key": key, "entry": entry.decode("utf-8"),
            "signatures": signatures}
    return json.dumps(body, sort_keys=True).encode()


def _hmac(secret: str, message: bytes) -> str:
    import hashlib
    import hmac

    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _ssh_sign(private_key: str, message: bytes) -> str:
    import subprocess

    from gitpipe.core.errors import BadInputError

    try:
        done = subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-f", private_key,
                               "-n", NAMESPACE], input=message, capture_output=True,
                              check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BadInputError(f"cannot sign run-cache entries with ssh-keygen: {exc}",
                            hint="install OpenSSH 8.2 or newer (ssh-keygen -Y sign)") from None
    if done.returncode != 0:
        why = done.stderr.decode(errors="replace").strip().splitlines()
        raise BadInputError(f"cannot sign run-cache entries with the SSH key {private_key!r}: "
                            f"{why[-1] if why else 'ssh-keygen failed'}",
                            hint=f"{SIGNING_KEY_ENV} (or signing_key in config.local.yaml) "
                            "names a private key file without a passphrase")
    return done.stdout.decode("ascii", errors="replace")


# -- verifying -----------------------------------------------------------------------

def opened(key: str, data: bytes, policy: TrustPolicy) -> tuple[bytes | None, str | None]:
    """(the entry's bytes, None) when `data`, found at remote `key`, is trusted
    by `policy`; (None, why not) otherwise. Nothing here raises."""
    if not policy.configured:
        return None, "is not trusted: the remote has no 'trust:' list"
    body = _parsed(data)
    if body is None:
        if policy.any:
            return data, None  # a plain entry, as gitpipe wrote before signing
        return None, "is not a signed entry"
    entry, signatures = body
    if policy.any:
        return entry, None
    if not signatures:
        return None, "is not signed"
    if len(signatures) > MAX_SIGNATURES:
        return None, (f"carries {len(signatures)} signatures, more than a pusher makes "
                      f"({MAX_SIGNATURES})")
    message = _message(key, entry)
    if any(_verifies(signature, message, policy.keys) for signature in signatures):
        return entry, None
    usable = [k for k in policy.keys if k.kind == "ssh" or os.environ.get(k.value)]
    if not usable:
        names = ", ".join(k.value for k in policy.keys)
        return None, f"cannot be checked: no trusted key is usable here ({names} not set)"
    return None, ("carries no signature a trusted key made for it (signed by another key, "
                  "altered, or copied from another stage, fingerprint or scope)")


def inner(data: bytes) -> bytes:
    """The local entry an envelope carries (or `data` itself, a plain entry),
    unverified: for gc and fsck, which judge only its shape and objects."""
    body = _parsed(data)
    return data if body is None else body[0]


def _parsed(data: bytes) -> tuple[bytes, list[dict[str, str]]] | None:
    try:
        body = loads_record(data)
    except ValueError:
        return None
    if not isinstance(body, dict) or body.get(ENVELOPE) != VERSION:
        return None
    entry, signatures = body.get("entry"), body.get("signatures")
    if not isinstance(entry, str) or not isinstance(signatures, list) or not all(
            isinstance(s, dict) and len(s) == 1 and all(isinstance(v, str) for v in s.values())
            for s in signatures):
        return None
    return entry.encode("utf-8"), signatures


def _verifies(signature: dict[str, str], message: bytes, keys: tuple[TrustedKey, ...]) -> bool:
    (kind, value), = signature.items()
    if kind == "hmac-sha256":
        import hmac

        for key in keys:
            secret = os.environ.get(key.value) if key.kind == "hmac" else None
            if secret and hmac.compare_digest(_hmac(secret, message), value):
                return True
        return False
    if kind == "ssh":
        public = [key.value for key in keys if key.kind == "ssh"]
        return bool(public) and _ssh_verifies(value, message, public)
    return False


def _ssh_verifies(signature: str, message: bytes, public_keys: list[str]) -> bool:
    """`ssh-keygen -Y verify` against an allowed-signers file of the trusted
    public keys (one principal for all), limited to gitpipe's namespace."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="gitpipe-verify-") as scratch:
        signers = os.path.join(scratch, "allowed_signers")
        sigfile = os.path.join(scratch, "entry.sig")
        with open(signers, "w", encoding="utf-8") as handle:
            handle.writelines(f'trusted namespaces="{NAMESPACE}" {key}\n' for key in public_keys)
        with open(sigfile, "w", encoding="ascii", errors="replace") as handle:
            handle.write(signature)
        try:
            done = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", signers, "-I", "trusted",
                                   "-n", NAMESPACE, "-s", sigfile], input=message,
                                  capture_output=True, check=False, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            return False
    return done.returncode == 0
