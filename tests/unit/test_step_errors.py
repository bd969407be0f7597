"""A step's failure that gitpipe foresaw (a GitpipeError raised where no
narrower handler stands) keeps its own message and hint; only what gitpipe
did not foresee is said as an internal error."""

from __future__ import annotations

import pytest

from gitpipe.core.errors import BadInputError
from gitpipe.engine import runner
from gitpipe.engine.scheduler import Outcome
from tests.conftest import Repo


def _fails_with(exc: Exception):  # type: ignore[no-untyped-def]
    def read(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise exc
    return read


def test_a_foreseen_error_keeps_its_message_and_hint(repo: Repo,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    repo.spec({"s": {"cmd": "echo hi > o", "outs": ["o"]}}, commit="spec")
    monkeypatch.setattr(runner, "inputs_read",
                        _fails_with(BadInputError("the input moved", hint="put it back")))
    result = repo.project().repro().results[0]
    assert result.outcome is Outcome.FAILED
    assert (result.message, result.hint) == ("the input moved", "put it back")


def test_an_unforeseen_error_is_an_internal_error(repo: Repo,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    repo.spec({"s": {"cmd": "echo hi > o", "outs": ["o"]}}, commit="spec")
    monkeypatch.setattr(runner, "inputs_read", _fails_with(KeyError("x")))
    result = repo.project().repro().results[0]
    assert result.outcome is Outcome.FAILED
    assert result.message == "internal error in stage 's': KeyError: 'x'"
    assert result.hint == "rerun with --debug for a traceback"
