"""TLS for the simulator: a certificate authority made at start, never a certificate checked in.

Binance serves only ``wss://`` and ``https://``, and a TLS socket behaves differently from a plain one (``recv``
returns at most one TLS record), so the simulator must be able to speak TLS too. ``trustme`` makes a throw-away
CA and a server certificate for ``127.0.0.1`` (an IP SAN) and ``localhost`` in memory; the CA certificate is
written as PEM to a file so that a client in another process can trust it, with verification left on.
"""
from __future__ import annotations

import os
import shutil
import ssl
import tempfile

import trustme

SERVER_NAMES = ("127.0.0.1", "localhost")
"""What the server certificate is valid for (``trustme`` makes an IP SAN for the address)."""


class ServerTLS:
    """A fresh CA, a server certificate signed by it, the server's SSLContext and the CA's PEM file."""

    def __init__(self, ca_file: str | os.PathLike | None = None, host: str = "127.0.0.1") -> None:
        ca = trustme.CA(organization_name="tradeactors simulator")
        # The bound host too, should it be another loopback name, so that the printed URL verifies.
        cert = ca.issue_cert(*SERVER_NAMES, *([host] if host not in SERVER_NAMES else []))
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(self.context)
        # A caller-chosen path is the caller's to keep; a default one lives in a private dir removed at close().
        self._tmpdir = None
        if ca_file is None:
            self._tmpdir = tempfile.mkdtemp(prefix="tradeactors-sim-ca-")
            ca_file = os.path.join(self._tmpdir, "ca.pem")
        self.ca_file = os.fspath(ca_file)
        ca.cert_pem.write_to_path(self.ca_file)

    def close(self) -> None:
        """Remove the CA file if we chose where it went. Idempotent."""
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None


def client_context(ca_file: str | os.PathLike) -> ssl.SSLContext:
    """A client SSLContext that trusts ``ca_file`` only, with hostname and certificate checks on."""
    return ssl.create_default_context(cafile=os.fspath(ca_file))
