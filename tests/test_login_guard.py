"""The login throttle's arithmetic (SECURITY.md 32), on a clock the test moves. Pure."""

from __future__ import annotations

import pytest

from jupyter_service.server import login
from jupyter_service.server.login import LoginGuard, Throttle, TooManyAttempts


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_waits_start_after_the_free_failures_and_double_to_a_ceiling() -> None:
    clock = Clock()
    throttle = Throttle(free=5, max_wait=300, clock=clock)
    waits = [throttle.failed("10.0.0.1")[1] for _ in range(15)]
    assert waits == [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300]
    assert throttle.wait("10.0.0.1") == 300
    clock.now += 299
    assert throttle.wait("10.0.0.1") == pytest.approx(1)
    assert throttle.wait("10.0.0.2") == 0
    throttle.succeeded("10.0.0.1")
    assert throttle.wait("10.0.0.1") == 0


def test_the_table_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(login, "MAX_TRACKED", 100)
    throttle = Throttle(free=0, max_wait=60, clock=Clock())
    for n in range(1000):
        throttle.failed(f"10.0.{n // 256}.{n % 256}")
    assert len(throttle._table) == 100
    assert throttle.wait("10.0.3.231") > 0  # the newest are kept
    assert throttle.wait("10.0.0.0") == 0


def test_per_address_and_per_account(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    guard = LoginGuard(clock=clock)
    for _ in range(6):
        guard.record("10.0.0.1", "alice", ok=False)
    with pytest.raises(TooManyAttempts) as refused:
        guard.check_allowed("10.0.0.1", "bob")  # the address waits, whatever the account
    assert refused.value.retry_after == 1
    for n in range(5):  # 11 in all: the account's 10 free ones, then a wait
        guard.record(f"10.0.1.{n}", "alice", ok=False)
    with pytest.raises(TooManyAttempts):
        guard.check_allowed("10.0.2.1", "alice")  # the account waits, from anywhere
    guard.check_allowed("10.0.2.1", "bob")
    assert "login failed: 10.0.0.1 for account 'alice' (6 in a row from there" in caplog.text
    assert "login refused without a check: 10.0.2.1 for account 'alice'" in caplog.text
