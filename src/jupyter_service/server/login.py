"""Password checks: one function, off the event loop, failures throttled and logged.

`verify_login` is what every login goes through, the single-user server's form here and
the hub's authenticator: a client address or an account that failed too often in a row
waits, longer each time, and is answered at once without an argon2 run; the argon2 run
itself happens in a worker thread, one at a time, so a flood of logins neither blocks the
event loop nor takes every core.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

# Failures in a row before waits start, per client address and per account; the account
# allows more, so that one client cannot lock its owner out at once.
ADDRESS_FREE_FAILURES = 5
ACCOUNT_FREE_FAILURES = 10
# The first wait, doubled at each further failure, and its ceiling (seconds).
FIRST_WAIT = 1.0
ADDRESS_MAX_WAIT = 300.0
ACCOUNT_MAX_WAIT = 60.0
# Clients remembered at most (oldest forgotten first): a bounded table under a flood.
MAX_TRACKED = 10_000

log = logging.getLogger("jupyter_service.login")


def verify_password(hashed: str, password: str) -> bool:
    """True when `password` matches `hashed` (an `argon2:` hash from hash-password).
    CPU-heavy by design: call it through `verify_login`, never on an event loop."""
    from jupyter_server.auth.security import passwd_check

    return bool(passwd_check(hashed, password))  # type: ignore[no-untyped-call]


@dataclass
class _Failures:
    count: int = 0
    until: float = 0.0


class Throttle:
    """Failures in a row per key, and how long the key must wait before trying again."""

    def __init__(
        self, free: int, max_wait: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.free = free
        self.max_wait = max_wait
        self.clock = clock
        self._table: OrderedDict[str, _Failures] = OrderedDict()

    def wait(self, key: str) -> float:
        """Seconds until `key` may try again (0: now)."""
        entry = self._table.get(key)
        return max(0.0, entry.until - self.clock()) if entry else 0.0

    def failed(self, key: str) -> tuple[int, float]:
        """Count a failure; return the failures in a row and the wait it starts."""
        entry = self._table.pop(key, None) or _Failures()
        entry.count += 1
        over = entry.count - self.free
        wait = 0.0 if over <= 0 else min(self.max_wait, FIRST_WAIT * 2 ** min(over - 1, 30))
        entry.until = self.clock() + wait
        self._table[key] = entry
        while len(self._table) > MAX_TRACKED:
            self._table.popitem(last=False)
        return entry.count, wait

    def succeeded(self, key: str) -> None:
        self._table.pop(key, None)


class TooManyAttempts(Exception):
    """Refused without checking: the client or the account must wait `retry_after` s."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many failed logins; try again in {math.ceil(retry_after)} s")
        self.retry_after = retry_after


class LoginGuard:
    """The throttles of one server (or hub) and the one-at-a-time argon2 worker."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.addresses = Throttle(ADDRESS_FREE_FAILURES, ADDRESS_MAX_WAIT, clock)
        self.accounts = Throttle(ACCOUNT_FREE_FAILURES, ACCOUNT_MAX_WAIT, clock)
        self._slot: asyncio.Semaphore | None = None

    def check_allowed(self, address: str, account: str) -> None:
        wait = max(self.addresses.wait(address), self.accounts.wait(account))
        if wait > 0:
            log.warning(
                "login refused without a check: %s for account %r must wait %.0f s",
                address,
                account,
                math.ceil(wait),
            )
            raise TooManyAttempts(wait)

    def record(self, address: str, account: str, ok: bool) -> None:
        if ok:
            self.addresses.succeeded(address)
            self.accounts.succeeded(account)
            return
        count, address_wait = self.addresses.failed(address)
        account_count, account_wait = self.accounts.failed(account)
        log.warning(
            "login failed: %s for account %r (%d in a row from there, %d for the account); "
            "next attempt in %.0f s",
            address,
            account,
            count,
            account_count,
            max(address_wait, account_wait),
        )

    async def verify(self, address: str, account: str, hashed: str | None, password: str) -> bool:
        """Whether `password` matches `hashed` for `account`, asked from `address`; raises
        TooManyAttempts instead of checking while either must wait. No hash: a failure
        (after the same work, so an unknown account takes as long as a known one)."""
        self.check_allowed(address, account)
        if self._slot is None:
            self._slot = asyncio.Semaphore(1)
        async with self._slot:
            # Those queued behind the failure that started a wait, wait too.
            self.check_allowed(address, account)
            loop = asyncio.get_running_loop()
            ok = await loop.run_in_executor(
                None, verify_password, hashed or _unknown_account_hash(), password
            )
        ok = ok and hashed is not None
        self.record(address, account, ok)
        return ok


_dummy_hash: list[str] = []


def _unknown_account_hash() -> str:
    """A hash no password matches, made on first use, checked for unknown accounts."""
    if not _dummy_hash:
        from jupyter_server.auth.security import passwd

        _dummy_hash.append(str(passwd("no account has this password", algorithm="argon2")))  # type: ignore[no-untyped-call]
    return _dummy_hash[0]
