"""``tradeactors mcp``'s command line: a bad option or configuration exits 2 naming it, before anything starts;
a listen address in use exits 1 saying so."""

from __future__ import annotations

import os
import socket

import pytest

from tests.helpers import run_cli
from tradeactors.mcp import cli
from tradeactors.mcp.upstream import base_url


@pytest.fixture(autouse=True)
def no_settings_from_the_shell(monkeypatch):
    for key in [k for k in os.environ if k.startswith("TRADEACTORS_")]:
        monkeypatch.delenv(key)


@pytest.mark.parametrize("args,words", [
    (["--listen", "127.0.0.1:99999"], "--listen: port '99999' in '127.0.0.1:99999' is not a number in 0..65535"),
    (["--listen", "nowhere"], "--listen: 'nowhere' is not HOST:PORT"),
    (["--tool-prefix", "binance get"], "--tool-prefix: 'binance get' is not allowed"),
    (["--timeout", "0"], "--timeout: '0' is not a number of seconds in 1..600"),
    (["--http", "127.0.0.1:x"], "  http: port 'x' in '127.0.0.1:x' is not a number in 0..65535 (from --http)"),
    (["--log-level", "LOUD"], "  log_level: 'LOUD' is not one of DEBUG, INFO, WARNING, ERROR (from --log-level)"),
])
def test_a_bad_option_exits_2_naming_it(capsys, args, words):
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_a_bad_setting_in_the_environment_or_the_config_file_exits_2_naming_the_key(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("TRADEACTORS_API_TOKEN", "short")
    assert cli.main([]) == 2
    assert "  api_token: must be empty (no protection) or at least 16" in capsys.readouterr().err
    monkeypatch.delenv("TRADEACTORS_API_TOKEN")
    ini = tmp_path / "tradeactors.ini"
    ini.write_text("[service]\nhttp = 127.0.0.1:8080\napi_tokn = x\n")
    assert cli.main(["--config", str(ini)]) == 2
    assert "service.api_tokn: unknown key" in capsys.readouterr().err


def test_an_unknown_option_exits_2_with_the_usage(capsys):
    assert cli.main(["--bogus"]) == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err


def test_a_listen_address_in_use_exits_1_saying_so(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert cli.main(["--listen", str(port)]) == 1
    assert f"--listen: cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_the_process_exits_2_through_the_main_cli():
    done = run_cli("mcp", "--listen", "127.0.0.1:-1")
    assert done.returncode == 2 and "--listen:" in done.stderr and done.stdout == ""


@pytest.mark.parametrize("host,port,url", [("127.0.0.1", 8080, "http://127.0.0.1:8080"),
                                           ("0.0.0.0", 9000, "http://127.0.0.1:9000"), ("::", 80, "http://[::1]:80"),
                                           ("localhost", 1, "http://localhost:1")])
def test_the_services_address_comes_from_its_http_setting(host, port, url):
    assert base_url(host, port) == url


def test_a_bare_port_listens_on_the_loopback():
    assert cli.parse_listen("8765") == ("127.0.0.1", 8765)
    assert cli.parse_listen("0.0.0.0:8765") == ("0.0.0.0", 8765)
