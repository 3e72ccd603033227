"""TLS: the made-at-start CA, verification that stays on, and one TLS record per WebSocket message."""
import base64
import fcntl
import os
import socket
import ssl
import termios
import urllib.error
import urllib.request

import pytest
import websocket

from tradeactors.simulator import Simulator

from .conftest import PLAIN


def test_tls_urls_and_the_ca_file_that_lives_as_long_as_the_simulator(make_sim):
    sim = make_sim(symbols=["BTCUSDT"], tls=True)
    assert sim.ws_url == f"wss://127.0.0.1:{sim.port}" and sim.rest_url == f"https://127.0.0.1:{sim.port}"
    with open(sim.ca_file) as fh:
        assert fh.read().startswith("-----BEGIN CERTIFICATE-----")
    ctx = sim.client_ssl_context()
    assert ctx.check_hostname and ctx.verify_mode == ssl.CERT_REQUIRED
    with urllib.request.urlopen(sim.rest_url + "/api/v3/ping", context=ctx, timeout=5) as resp:
        assert resp.read() == b"{}"
    ca_file = sim.ca_file
    sim.stop()
    assert not os.path.exists(ca_file)


def test_a_chosen_ca_file_is_written_there_and_kept(tmp_path):
    path = tmp_path / "sim-ca.pem"
    with Simulator(symbols=["BTCUSDT"], tls=True, ca_file=path) as sim:
        assert sim.ca_file == str(path)
        ws = websocket.create_connection(sim.ws_url + "/ws/btcusdt@aggTrade", timeout=5,
                                         sslopt={"context": sim.client_ssl_context()})
        ws.close(timeout=0.2)
    assert path.read_text().startswith("-----BEGIN CERTIFICATE-----")


@PLAIN
def test_plaintext_has_no_ca_and_a_ca_file_needs_tls(sim):
    assert sim.ws_url.startswith("ws://") and sim.rest_url.startswith("http://") and sim.ca_file is None
    with pytest.raises(RuntimeError):
        sim.client_ssl_context()
    with pytest.raises(ValueError):
        Simulator(ca_file="/tmp/never-written.pem")


def test_the_certificate_is_checked_and_names_127_0_0_1_and_localhost(make_sim):
    sim = make_sim(symbols=["BTCUSDT"], tls=True)
    with pytest.raises(urllib.error.URLError) as err:  # the system trust store does not know our CA
        urllib.request.urlopen(sim.rest_url + "/api/v3/ping", timeout=5)
    assert isinstance(err.value.reason, ssl.SSLCertVerificationError)
    for name in ("127.0.0.1", "localhost"):
        with _tls_socket(sim, name):
            pass
    with pytest.raises(ssl.SSLCertVerificationError):
        _tls_socket(sim, "example.com")


def _tls_socket(sim, server_hostname="127.0.0.1") -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", sim.port), timeout=5)
    try:
        return sim.client_ssl_context().wrap_socket(raw, server_hostname=server_hostname)
    except BaseException:
        raw.close()
        raise


def _upgrade(sock: ssl.SSLSocket, path: str) -> None:
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    head = sock.recv(1 << 20)  # the 101 is one record of its own, nothing of the stream rides along
    assert head.startswith(b"HTTP/1.1 101") and head.endswith(b"\r\n\r\n"), head


def _frame_length(data: bytes) -> int:
    """The whole length (header + payload) of the unmasked frame that starts ``data``."""
    n = data[1] & 0x7F
    if n < 126:
        return 2 + n
    if n == 126:
        return 4 + int.from_bytes(data[2:4], "big")
    return 10 + int.from_bytes(data[2:10], "big")


def _queued_bytes(sock: socket.socket) -> int:
    """Encrypted bytes already in the kernel's receive buffer, not yet read."""
    return int.from_bytes(fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0"), "little")


TLS_RECORD_MAX = 16384
"""The most plaintext one TLS record carries: a bigger message spans several records, full but for the last."""


@pytest.mark.parametrize("path", ["/ws/btcusdt@aggTrade", "/stream?streams=btcusdt@aggTrade/btcusdt@depth@100ms"])
def test_each_message_travels_in_records_of_its_own_like_binance(make_sim, path):
    # rate="max" writes 256 orders' frames per batch: many messages are always queued at once, yet each must
    # travel in its own TLS record, so that a reader that assumes one recv = many messages fails here too.
    sim = make_sim(symbols=["BTCUSDT"], rate="max", tls=True)
    with _tls_socket(sim) as sock:
        _upgrade(sock, path)
        messages = reads = more_was_waiting = 0
        while messages < 3000:
            chunk = sock.recv(1 << 20)  # one record's plaintext at most
            assert chunk, "the server closed the connection"
            reads += 1
            assert len(chunk) >= 2
            frame, whole = bytearray(chunk), _frame_length(chunk)
            while len(frame) < whole:  # a message over 16 KiB (a big depthUpdate): full records, then the rest
                assert len(chunk) == TLS_RECORD_MAX, (messages, len(chunk))
                chunk = sock.recv(1 << 20)
                frame += chunk
            # The record ends where the message ends: no second message (nor part of one) rides along.
            assert len(frame) == whole, (messages, len(frame), whole, bytes(frame[:60]))
            messages += 1
            more_was_waiting += _queued_bytes(sock) > 0
        # Not a quiet stream read one message at a time: other records were waiting behind most reads.
        assert more_was_waiting > messages // 2
