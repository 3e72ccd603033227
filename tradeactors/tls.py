"""TLS trust for the service's clients (wss:// streams and https:// REST).

One ``ssl.SSLContext`` per service: the system's trust store, plus the CA bundle of ``ca_file`` when set (the
simulator's CA, a corporate TLS proxy). Certificate and host-name verification are always on: there is no
setting that turns them off.
"""

from __future__ import annotations

import os
import ssl


def client_context(ca_file: str | os.PathLike[str] | None = None) -> ssl.SSLContext:
    """A client context that verifies certificates and host names against the system's CAs and ``ca_file``.

    Raises OSError if ``ca_file`` cannot be read and ssl.SSLError if it holds no usable certificate."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if ca_file is not None:
        context.load_verify_locations(cafile=os.fspath(ca_file))
    return context
