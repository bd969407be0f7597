"""`gitpipe.yaml` → a frozen Pipeline of Stages; every problem names file:line.

Parsing collects all problems before raising, so `gitpipe validate` reports
everything at once instead of one error per run.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xxhash

from gitpipe import signedcache
from gitpipe.errors import SpecError, did_you_mean
from gitpipe.partitions import (
    FREQS,
    PartitionError,
    PartitionSpec,
    substitute,
    template_names,
    variables,
)
from gitpipe.yamlio import (
    LineDict,
    LineList,
    cached_parse,
    line_of,
    parse_plain,
    parse_yaml,
    plain,
)

SPEC_FILE = "gitpipe.yaml"
DEFAULT_PARAMS_FILE = "params.yaml"
STAGE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
RESERVED_DIRS = (".git", ".gitpipe")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}

STAGE_FIELDS = {
    "cmd", "deps", "params", "outs", "metrics", "wdir", "env", "retries", "timeout",
    "always_changed", "frozen", "persist", "desc", "partition", "concurrency", "wait_for",
    "pool", "executor", "resources", "image", "node_selector", "tolerations",
    "service_account", "env_from_secret",
}
EXECUTORS = ("local", "kubernetes")
# Fields DESIGN.md names that this version does not implement yet: refused
# with a clear message rather than silently ignored.
PLANNED_FIELDS: set[str] = set()


@dataclass(frozen=True)
class ParamRef:
    """A key (dotted, or a whole section) of a params file."""

    file: str
    key: str


@dataclass(frozen=True)
class Out:
    """A declared output; `is_dir` when written with a trailing slash."""

    path: str
    is_dir: bool = False
    cache: bool = True


@dataclass(frozen=True)
class WaitFor:
    """A sensor: wait until `path` (any fsspec URL, may use ${date}) exists."""

    path: str
    timeout: float = 6 * 3600.0
    poke: float = 60.0


@dataclass(frozen=True)
class KubeSpec:
    """What a stage asks of Kubernetes; cluster-wide defaults live in the config."""

    image: str | None = None
    resources: tuple[tuple[str, str], ...] = ()
    node_selector: tuple[tuple[str, str], ...] = ()
    tolerations: tuple[str, ...] = ()          # each a JSON object, kept hashable
    service_account: str | None = None
    env_from_secret: tuple[tuple[str, str, str], ...] = ()  # (VAR, secret, key)


@dataclass(frozen=True)
class Stage:
    """One stage as declared; paths are repository-relative POSIX paths."""

    name: str
    cmd: str
    deps: tuple[str, ...] = ()
    params: tuple[ParamRef, ...] = ()
    outs: tuple[Out, ...] = ()
    wdir: str = "."
    env: tuple[tuple[str, str], ...] = ()
    retries: int = 0
    timeout: float | None = None
    always_changed: bool = False
    frozen: bool = False
    persist: bool = False
    line: int | None = None
    partition: PartitionSpec | None = None
    concurrency: int | None = None
    wait_for: WaitFor | None = None
    pool: str | None = None
    executor: str = "local"
    k8s: KubeSpec | None = None


@dataclass(frozen=True)
class Pipeline:
    """All stages of a `gitpipe.yaml`, in file order."""

    stages: tuple[Stage, ...]
    source: str = SPEC_FILE
    stage_lines: dict[str, int] = field(default_factory=dict, compare=False, hash=False)

    def names(self) -> list[str]:
        return [stage.name for stage in self.stages]

    def stage(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)


def parse_duration(value: Any) -> float:
    """'30s', '2h', '1.5m', 90 → seconds; ValueError on anything else."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or value <= 0:
            raise ValueError(value)
        return float(value)
    match = _DURATION.match(str(value))
    if not match or float(match.group(1)) <= 0:
        raise ValueError(value)
    return float(match.group(1)) * _UNITS[match.group(2)]


_PLAIN_PATH = re.compile(
    r"^(?!\.{1,2}(?:/|$))(?!.*/\.{1,2}(?:/|$))[A-Za-z0-9_@${}=+,:%-][^\\]*?/?$")


def normalize_path(path: str, wdir: str) -> str:
    """Join `path` onto `wdir` and normalize; ValueError if it leaves the repository."""
    if wdir == "." and isinstance(path, str) and "//" not in path and path[1:2] != ":" and \
            _PLAIN_PATH.match(path) and not path.startswith(RESERVED_DIRS):
        return path.rstrip("/")  # the common case: already normal, nothing to check
    if not isinstance(path, str) or not path.strip():
        raise ValueError("empty path")
    if path.startswith(("/", "~")) or re.match(r"^[A-Za-z]:[\\/]", path) or "\\" in path:
        raise ValueError("absolute paths are not allowed")
    joined = posixpath.normpath(posixpath.join(wdir, path))
    if joined == ".." or joined.startswith("../"):
        raise ValueError("it resolves outside the repository")
    if joined == ".":
        raise ValueError("the repository root itself cannot be a path here")
    top = joined.split("/", 1)[0]
    if top in RESERVED_DIRS:
        raise ValueError(f"paths under '{top}/' belong to git or gitpipe")
    return joined


class _Collector:
    """Accumulates problems as 'file:line: stage 'x': message'."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

    def add(self, line: int | None, message: str, stage: str | None = None) -> None:
        where = f"{self.source}:{line}" if line else self.source
        prefix = f"stage {stage!r}: " if stage else ""
        self.problems.append(f"{where}: {prefix}{message}")


class _StageParser:
    """Turns one stage's mapping into a Stage, reporting into a _Collector."""

    def __init__(self, name: str, body: LineDict, errors: _Collector,
                 line: int | None = None) -> None:
        self.name = name
        self.body = body
        self.errors = errors
        self.line = line if line is not None else getattr(body, "line", None)

    def problem(self, key: Any, message: str, container: Any = None) -> None:
        line = line_of(container if container is not None else self.body, key)
        self.errors.add(line, message, self.name)

    def parse(self) -> Stage | None:
        before = len(self.errors.problems)
        self._check_fields()
        cmd = self._cmd()
        wdir = self._wdir()
        stage = Stage(
            name=self.name,
            cmd=cmd,
            deps=tuple(path for path, _ in self._paths("deps", wdir)),
            params=tuple(self._params(wdir)),
            outs=tuple(self._outs(wdir)),
            wdir=wdir,
            env=self._env(),
            retries=self._retries(),
            timeout=self._timeout(),
            always_changed=self._flag("always_changed"),
            frozen=self._flag("frozen"),
            persist=self._flag("persist"),
            partition=self._partition(),
            concurrency=self._positive("concurrency"),
            wait_for=self._wait_for(),
            pool=self._pool(),
            executor=self._executor(),
            k8s=self._kube(),
            line=self.line,
        )
        return stage if len(self.errors.problems) == before else None

    def _check_fields(self) -> None:
        for key in self.body:
            if key in STAGE_FIELDS:
                continue
            if key in PLANNED_FIELDS:
                self.problem(key, f"field {key!r} is not supported by this version of gitpipe")
                continue
            hint = did_you_mean(str(key), STAGE_FIELDS)
            self.problem(key, f"unknown field {key!r}" + (f" ({hint})" if hint else ""))

    def _cmd(self) -> str:
        cmd = self.body.get("cmd")
        if cmd is None:
            self.errors.add(self.line, "missing 'cmd'", self.name)
            return ""
        if isinstance(cmd, list) and all(isinstance(part, str) for part in cmd):
            return " && ".join(cmd)
        if not isinstance(cmd, str) or not cmd.strip():
            self.problem("cmd", "'cmd' must be a non-empty string")
            return ""
        return cmd

    def _wdir(self) -> str:
        wdir = self.body.get("wdir", ".")
        if wdir in (".", "./"):
            return "."
        try:
            return normalize_path(str(wdir), ".")
        except ValueError as exc:
            self.problem("wdir", f"wdir {wdir!r}: {exc}")
            return "."

    def _list(self, key: str) -> list[Any]:
        value = self.body.get(key, [])
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list):
            self.problem(key, f"{key!r} must be a list")
            return []
        return value

    def _paths(self, key: str, wdir: str) -> list[tuple[str, bool]]:
        """(normalized path, written-as-directory) for each entry of `key`."""
        values = self._list(key)
        noun = {"deps": "dependency", "outs": "out", "metrics": "metric"}[key]
        paths = []
        for index, raw in enumerate(values):
            where: Any = (index, values) if isinstance(values, LineList) else (key, None)
            try:
                paths.append((normalize_path(raw, wdir), str(raw).endswith("/")))
            except (ValueError, TypeError) as exc:
                self.problem(where[0], f"{noun} {raw!r}: {exc}", where[1])
        return paths

    def _outs(self, wdir: str) -> list[Out]:
        outs = [Out(path, is_dir) for path, is_dir in self._paths("outs", wdir)]
        metrics = [Out(path, False, cache=False) for path, _ in self._paths("metrics", wdir)]
        return outs + metrics

    def _params(self, wdir: str) -> list[ParamRef]:
        refs: list[ParamRef] = []
        default_file = normalize_path(DEFAULT_PARAMS_FILE, wdir)
        for item in self._list("params"):
            if isinstance(item, (str, int, float)) and not isinstance(item, bool):
                refs.append(ParamRef(default_file, str(item)))
            elif isinstance(item, dict) and len(item) == 1:
                refs.extend(self._params_of_file(item, wdir))
            else:
                self.problem("params", f"param {item!r} must be a key or {{file: [keys]}}")
        return refs

    def _params_of_file(self, item: dict[str, Any], wdir: str) -> list[ParamRef]:
        (file, keys), = item.items()
        try:
            path = normalize_path(str(file), wdir)
        except ValueError as exc:
            self.problem("params", f"params file {file!r}: {exc}")
            return []
        if isinstance(keys, str):
            keys = [keys]
        if not isinstance(keys, list) or not keys:
            self.problem("params", f"params of {file!r} must be a non-empty list of keys")
            return []
        return [ParamRef(path, str(key)) for key in keys]

    def _env(self) -> tuple[tuple[str, str], ...]:
        env = self.body.get("env", {}) or {}
        if not isinstance(env, dict):
            self.problem("env", "'env' must be a mapping of names to values")
            return ()
        pairs = []
        for key, value in env.items():
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", str(key)) or isinstance(
                value, (dict, list)
            ):
                self.problem(key, f"env {key!r}: must be NAME: scalar", env)
                continue
            pairs.append((str(key), "" if value is None else str(value)))
        return tuple(sorted(pairs))

    def _retries(self) -> int:
        value = self.body.get("retries", 0)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
            self.problem("retries",
                         f"'retries' must be a whole number from 0 to 100, not {value!r}")
            return 0
        return value

    def _timeout(self) -> float | None:
        value = self.body.get("timeout")
        if value is None:
            return None
        try:
            return parse_duration(value)
        except ValueError:
            self.problem("timeout", f"'timeout' {value!r} is not a duration like 30s, 5m or 2h")
            return None

    def _partition(self) -> PartitionSpec | None:
        value = self.body.get("partition")
        if value is None:
            self._check_no_templates()
            return None
        if not isinstance(value, dict):
            self.problem("partition", "'partition' must be {by: date, start, end, freq}")
            return None
        unknown = set(value) - {"by", "start", "end", "freq"}
        if unknown or value.get("by", "date") != "date" or "start" not in value:
            self.problem("partition", "'partition' must be {by: date, start: DATE, end: DATE "
                         "| today | yesterday, freq: hourly | daily | weekly | monthly}")
            return None
        spec = PartitionSpec(str(value["start"]), str(value.get("end", "yesterday")),
                             str(value.get("freq", "daily")))
        if spec.freq not in FREQS:
            self.problem("partition", f"unknown freq {spec.freq!r} (one of {', '.join(FREQS)})")
            return None
        try:
            spec.bounds(dt.date.today())
        except PartitionError as exc:
            self.problem("partition", f"partition: {exc}")
            return None
        self._check_templates(set(variables("2000-01-01T00", spec.freq)))
        return spec

    def _template_texts(self) -> list[tuple[str, str]]:
        texts = [("cmd", str(self.body.get("cmd", "")))]
        for key in ("deps", "outs", "metrics"):
            texts += [(key, str(item)) for item in self._list(key)]
        env = self.body.get("env")
        if isinstance(env, dict):
            texts += [("env", str(v)) for v in env.values()]
        wait = self.body.get("wait_for")
        if isinstance(wait, dict):
            texts.append(("wait_for", str(wait.get("path", ""))))
        return texts

    def _check_no_templates(self) -> None:
        for key, text in self._template_texts():
            for name in template_names(text):
                self.problem(key, f"{key} uses ${{{name}}} but the stage has no 'partition'")
                return

    def _check_templates(self, known: set[str]) -> None:
        for key, text in self._template_texts():
            for name in template_names(text):
                if name not in known:
                    hint = did_you_mean(name, known)
                    self.problem(key, f"{key}: unknown variable ${{{name}}}"
                                 + (f" ({hint})" if hint else ""))

    def _positive(self, key: str) -> int | None:
        value = self.body.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.problem(key, f"{key!r} must be a whole number of at least 1, not {value!r}")
            return None
        return value

    def _wait_for(self) -> WaitFor | None:
        value = self.body.get("wait_for")
        if value is None:
            return None
        if isinstance(value, str):
            value = {"path": value}
        if not isinstance(value, dict) or "path" not in value or set(value) - {
                "path", "timeout", "poke"}:
            self.problem("wait_for", "'wait_for' must be {path: URL, timeout: 6h, poke: 1m}")
            return None
        try:
            return WaitFor(str(value["path"]), parse_duration(value.get("timeout", "6h")),
                           parse_duration(value.get("poke", "1m")))
        except ValueError as exc:
            self.problem("wait_for", f"wait_for: {exc!s} is not a duration like 30s or 6h")
            return None

    def _executor(self) -> str:
        value = self.body.get("executor", "local")
        if value not in EXECUTORS:
            self.problem("executor", f"executor {value!r} is not one of {', '.join(EXECUTORS)}")
            return "local"
        return str(value)

    def _string_map(self, key: str) -> tuple[tuple[str, str], ...]:
        value = self.body.get(key) or {}
        if not isinstance(value, dict) or any(isinstance(v, (dict, list)) for v in value.values()):
            self.problem(key, f"{key!r} must be a mapping of names to values")
            return ()
        return tuple(sorted((str(k), str(v)) for k, v in value.items()))

    def _kube(self) -> KubeSpec | None:
        keys = ("image", "resources", "node_selector", "tolerations", "service_account",
                "env_from_secret")
        if not any(k in self.body for k in keys):
            return None
        resources = self._string_map("resources")
        for name, _ in resources:
            if name not in ("cpu", "memory", "gpu"):
                self.problem("resources", f"resources: {name!r} is not one of cpu, memory, gpu")
        tolerations = self.body.get("tolerations") or []
        if not isinstance(tolerations, list) or not all(isinstance(t, dict) for t in tolerations):
            self.problem("tolerations", "'tolerations' must be a list of mappings")
            tolerations = []
        secrets = []
        for var, ref in (self.body.get("env_from_secret") or {}).items():
            if not (isinstance(ref, list) and len(ref) == 2 and all(isinstance(r, str)
                                                                  for r in ref)):
                self.problem("env_from_secret", f"env_from_secret {var!r}: must be [secret, key]")
                continue
            secrets.append((str(var), ref[0], ref[1]))
        image = self.body.get("image")
        account = self.body.get("service_account")
        return KubeSpec(str(image) if image else None, resources, self._string_map("node_selector"),
                        tuple(json.dumps(plain(t), sort_keys=True) for t in tolerations),
                        str(account) if account else None, tuple(sorted(secrets)))

    def _pool(self) -> str | None:
        value = self.body.get("pool")
        if value is not None and not isinstance(value, str):
            self.problem("pool", "'pool' must be the name of a pool in .gitpipe/config.yaml")
            return None
        return value

    def _flag(self, key: str) -> bool:
        value = self.body.get(key, False)
        if not isinstance(value, bool):
            self.problem(key, f"{key!r} must be true or false, not {value!r}")
            return False
        return value


def parse_pipeline(data: Any, source: str = SPEC_FILE) -> Pipeline:
    """Validate parsed YAML into a Pipeline; SpecError lists every problem."""
    errors = _Collector(source)
    if not isinstance(data, dict) or "stages" not in data:
        errors.add(None, "the file must be a mapping with a 'stages:' key")
        raise SpecError(errors.problems)
    for key in data:
        if key not in ("stages", "vars"):
            errors.add(line_of(data, key), f"unknown top-level key {key!r}")
    stages_data = data["stages"]
    if not isinstance(stages_data, dict) or not stages_data:
        errors.add(line_of(data, "stages"), "'stages' must be a non-empty mapping")
        raise SpecError(errors.problems)
    stages = _parse_stages(stages_data, errors)
    if errors.problems:
        raise SpecError(errors.problems)
    lines = {s.name: s.line for s in stages if s.line is not None}
    return Pipeline(tuple(stages), source, lines)


def _parse_stages(stages_data: dict[Any, Any], errors: _Collector) -> list[Stage]:
    stages = []
    for name, body in stages_data.items():
        line = line_of(stages_data, name)
        if not isinstance(name, str) or not STAGE_NAME.match(name):
            errors.add(line, f"invalid stage name {name!r} (letters, digits, _ . -)")
            continue
        if not isinstance(body, dict):
            errors.add(line, "must be a mapping with at least 'cmd'", name)
            continue
        stage = _StageParser(name, body, errors, line).parse()  # type: ignore[arg-type]
        if stage is not None:
            stages.append(stage)
    return stages


def load_pipeline(root: Path, source: str = SPEC_FILE, cache_dir: Path | None = None,
                  with_lines: bool = False) -> Pipeline:
    """Read and validate `gitpipe.yaml` at the project root.

    The fast path parses without line numbers (cached by content); only when
    validation finds a problem is the file parsed again to say which line.
    """
    try:
        text = (root / source).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([f"{source}: file does not exist"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([f"{source}: cannot read: {exc}"]) from None
    if with_lines:
        return parse_pipeline(parse_yaml(text, source), source)
    remembered = _remembered_pipeline(text, source, root, cache_dir)
    if remembered is not None:
        return remembered
    plain = cached_parse(text, source, cache_dir, lambda t: parse_plain(t, source))
    try:
        pipeline = parse_pipeline(plain, source)
    except SpecError:
        return parse_pipeline(parse_yaml(text, source), source)
    _remember_pipeline(text, source, root, cache_dir, pipeline)
    return pipeline


# NOTE: validating 1,000 stages into Stage objects took ~60 ms of every no-op
# status, so a valid pipeline is remembered as a signed pickle (signedcache.py),
# keyed by the spec's text and by this module's own source: a changed Stage
# class never unpickles into stale objects.
def _pipeline_key(text: str) -> bytes:
    return xxhash.xxh3_128_digest(Path(__file__).read_bytes() + b"\0" + text.encode())


def _pickle_path(cache_dir: Path, source: str) -> Path:
    return cache_dir / (source.replace("/", "%") + ".pickle")


def _remembered_pipeline(text: str, source: str, root: Path,
                         cache_dir: Path | None) -> Pipeline | None:
    if cache_dir is None:
        return None
    found = signedcache.load(_pickle_path(cache_dir, source), _pipeline_key(text), root)
    return found if isinstance(found, Pipeline) else None


def _remember_pipeline(text: str, source: str, root: Path, cache_dir: Path | None,
                       pipeline: Pipeline) -> None:
    if cache_dir is not None:
        signedcache.store(_pickle_path(cache_dir, source), _pipeline_key(text), root, pipeline)


@dataclass(frozen=True)
class Task:
    """A node the scheduler runs: a Stage, or one partition of it, with paths resolved.

    `cmd`, `deps` and `outs` are the stage's, after partition substitution.
    """

    stage: Stage
    partition: str | None
    cmd: str
    deps: tuple[str, ...]
    outs: tuple[Out, ...]
    env: tuple[tuple[str, str], ...]

    @property
    def name(self) -> str:
        return f"{self.stage.name}@{self.partition}" if self.partition else self.stage.name

    @classmethod
    def of(cls, stage: Stage) -> Task:
        return cls(stage, None, stage.cmd, stage.deps, stage.outs, stage.env)

    @property
    def wait_path(self) -> str | None:
        wait = self.stage.wait_for
        if wait is None:
            return None
        if self.partition is None:
            return wait.path
        return substitute(wait.path, variables(self.partition, _freq(self.stage)))


def _freq(stage: Stage) -> str:
    return stage.partition.freq if stage.partition else "daily"


def partition_task(stage: Stage, key: str) -> Task:
    """The Task of one partition: `${…}` substituted in cmd, deps, outs and env."""
    values = variables(key, _freq(stage))
    outs = tuple(Out(substitute(o.path, values), o.is_dir, o.cache) for o in stage.outs)
    return Task(stage, key, substitute(stage.cmd, values),
                tuple(substitute(d, values) for d in stage.deps), outs,
                tuple((k, substitute(v, values)) for k, v in stage.env))


def tasks_of(stage: Stage, today: dt.date) -> list[Task]:
    """One Task per partition in the stage's declared range, or the stage's one Task."""
    if stage.partition is None:
        return [Task.of(stage)]
    return [partition_task(stage, key) for key in stage.partition.keys(today)]
