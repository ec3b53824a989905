"""Errors the service layer raises; the API layer maps each to its HTTP status.

ServiceError
├── BadRequest          400  input that breaks a rule (names the field)
├── Unauthorized        401  no, bad, expired or revoked credentials
├── Forbidden           403  authenticated but not allowed
├── NotFound            404  unknown, or not the caller's
├── Conflict            409  wrong state, stale lease, duplicate
├── TooLarge            413  body or upload over its limit
└── CredentialNeeded    419  site credential missing or expired
"""

from __future__ import annotations


class ServiceError(Exception):
    status: int = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BadRequest(ServiceError):
    status = 400


class Unauthorized(ServiceError):
    status = 401


class Forbidden(ServiceError):
    status = 403


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class TooLarge(ServiceError):
    status = 413


class CredentialNeeded(ServiceError):
    status = 419
