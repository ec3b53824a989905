"""The S3 client's surroundings: a botocore session with no identity of its own,
and connections only to the addresses the site's network policy allows.
"""

from __future__ import annotations

import os
from typing import Any

import botocore.awsrequest as bawsrequest
import botocore.credentials
import botocore.session
import botocore.tokens
from botocore.configprovider import BOTOCORE_DEFAUT_SESSION_VARIABLES
from urllib3.exceptions import NewConnectionError
from urllib3.util import connection as urllib3_connection

from haul.domain.errors import ErrorCode, TransferError
from haul.storage import _s3_timestamps as s3_timestamps
from haul.storage.network_policy import NetworkPolicy

# Settings botocore may not take from the worker's environment or files: the
# files are pointed at /dev/null and every variable loses its AWS_* name.
_SEALED_INSTANCE_VARS = {
    "config_file": os.devnull,
    "credentials_file": os.devnull,
    "ignore_configured_endpoint_urls": True,
}


def sealed_session() -> botocore.session.Session:
    """A botocore session that can find no identity or settings of its own.

    botocore resolves credentials through a chain (environment, shared
    credential and config files, SSO, web identity, container and instance
    metadata) and its other settings from AWS_* variables and `~/.aws/config`.
    Here the chain and the token providers are empty, the files are
    /dev/null and no variable is read from the environment, so the client
    signs only with the keys it is handed, or not at all.
    """
    session_vars = {
        name: (None, None, default, convert)
        for name, (_config, _env, default, convert) in BOTOCORE_DEFAUT_SESSION_VARIABLES.items()
    }
    session = botocore.session.Session(session_vars=session_vars)
    for name, value in _SEALED_INSTANCE_VARS.items():
        session.set_config_variable(name, value)
    session.register_component(
        "credential_provider", botocore.credentials.CredentialResolver(providers=[])
    )
    session.register_component("token_provider", botocore.tokens.TokenProviderChain(providers=[]))
    s3_timestamps.install(session)
    return session


def _checked_connection(base: type, policy: NetworkPolicy) -> type:
    """`base` (botocore's urllib3 connection) connecting only to allowed addresses."""

    def _new_conn(self: Any) -> Any:
        last: OSError | None = None
        for address in policy.addresses(self._dns_host.strip("[]"), self.port):
            try:
                return urllib3_connection.create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except OSError as exc:
                last = exc
        raise NewConnectionError(self, f"Failed to establish a new connection: {last}")

    return type(f"Checked{base.__name__}", (base,), {"_new_conn": _new_conn})


def check_connections(client: Any, policy: NetworkPolicy) -> None:
    pools = {
        "http": bawsrequest.AWSHTTPConnectionPool,
        "https": bawsrequest.AWSHTTPSConnectionPool,
    }
    checked = {
        scheme: type(
            f"Checked{pool.__name__}",
            (pool,),
            {"ConnectionCls": _checked_connection(pool.ConnectionCls, policy)},
        )
        for scheme, pool in pools.items()
    }
    session = getattr(getattr(client, "_endpoint", None), "http_session", None)
    manager = getattr(session, "_manager", None)
    if manager is None or not hasattr(manager, "pool_classes_by_scheme"):
        # Fail closed: without the hook, connections would go unchecked.
        raise TransferError(ErrorCode.INTERNAL, "botocore changed: cannot check connections")
    manager.pool_classes_by_scheme = checked
