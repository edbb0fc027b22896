"""The per-page time budget: a call that runs too long is abandoned, its worker killed, and the
next call gets a fresh worker."""

from __future__ import annotations

import operator
import time

import pytest

from harvester.extract.runner import BudgetExceeded, TimeBudget


def test_call_within_budget_returns_value() -> None:
    with TimeBudget(30.0) as budget:
        assert budget.call(operator.add, 2, 3) == 5


def test_call_over_budget_raises_and_worker_restarts() -> None:
    with TimeBudget(0.5) as budget:
        with pytest.raises(BudgetExceeded, match=r"0\.5s time budget"):
            budget.call(time.sleep, 30)
        # a new worker serves the next call
        assert budget.call(operator.mul, 6, 7) == 42


def test_exceptions_propagate() -> None:
    with TimeBudget(30.0) as budget, pytest.raises(ZeroDivisionError):
        budget.call(operator.truediv, 1, 0)


def test_no_budget_runs_in_process() -> None:
    with TimeBudget(None) as budget:
        assert budget.call(operator.sub, 5, 3) == 2


def test_worker_crash_is_reported_and_replaced() -> None:
    import os

    from harvester.extract.runner import WorkerCrashed

    with TimeBudget(30.0) as budget:
        with pytest.raises(WorkerCrashed):
            budget.call(os._exit, 3)
        assert budget.call(operator.add, 1, 1) == 2


def test_worker_is_recycled_after_max_calls() -> None:
    import os

    with TimeBudget(30.0, max_calls=2) as budget:
        pids = [budget.call(os.getpid) for _ in range(5)]
    assert len(set(pids)) == 3
    assert os.getpid() not in pids
