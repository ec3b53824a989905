"""Password-guessing brakes: failed logins per account and per client address.

A sliding window (the ``limits`` library's moving window) counts failed
logins under two keys, the account's email and the client's address. Once
either has ``LOGIN_FAILURES`` failures within the last minute, further
attempts on it answer 429 with ``Retry-After`` (seconds until the oldest
failure leaves the window) and the password is not even checked, so a flood
costs no argon2 time. Successful logins count nothing.

The counters live in this server process's memory: the embedded default runs
one process, and with several server processes behind a load balancer each
keeps its own window, so an attacker gets up to that many times the budget.
The client address is the TCP peer, or what uvicorn's proxy-header handling
puts there (``--forwarded-allow-ips``) behind a trusted reverse proxy.
"""

from __future__ import annotations

import math
import time

from fastapi import Request
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.exceptions import HTTPException

from haul.services import users as user_service
from haul.services.errors import Unauthorized
from haul.store.database import Database
from haul.store.tables import Token, User

LOGIN_FAILURES = 10  # per account and per client address, per minute


class TooManyLogins(HTTPException):
    def __init__(self, retry_after: int, what: str) -> None:
        super().__init__(
            429,
            f"too many failed logins for this {what}; try again in {retry_after} seconds",
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after


class LoginThrottle:
    def __init__(self, failures_per_minute: int = LOGIN_FAILURES) -> None:
        self.limit = RateLimitItemPerMinute(failures_per_minute)
        self.window = MovingWindowRateLimiter(MemoryStorage())

    @staticmethod
    def _keys(email: str, address: str) -> list[tuple[str, str]]:
        return [("account", email.strip().lower()), ("address", address)]

    def check(self, email: str, address: str) -> None:
        """Raises 429 when either key has used up its failures."""
        for kind, key in self._keys(email, address):
            if not self.window.test(self.limit, "login", kind, key):
                stats = self.window.get_window_stats(self.limit, "login", kind, key)
                raise TooManyLogins(max(1, math.ceil(stats.reset_time - time.time())), kind)

    def failed(self, email: str, address: str) -> None:
        for kind, key in self._keys(email, address):
            self.window.hit(self.limit, "login", kind, key)


def throttled_login(
    request: Request, db: Database, email: str, password: str, lifetime: int
) -> tuple[User, str, Token]:
    """``users.login`` behind the throttle (the API's and the dashboard's login)."""
    throttle: LoginThrottle = request.app.state.login_throttle
    address = request.client.host if request.client else "unknown"
    throttle.check(email, address)
    try:
        return user_service.login(db, email, password, lifetime)
    except Unauthorized:
        throttle.failed(email, address)
        raise
