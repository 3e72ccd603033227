import os
import ssl
import stat
from urllib.parse import urlsplit

import pytest

from tradeactors import config
from tradeactors.config import ConfigError


def load(ini=None, env=None, **overrides):
    return config.load(ini, env=env or {}, overrides=overrides)


def test_defaults_follow_the_spec():
    cfg = load()
    assert cfg.symbols == ("BTCUSDT", "ETHUSDT")
    assert str(cfg.data_dir) == "data"
    # SPEC's defaults, checked by parts: nothing here connects anywhere.
    ws, rest = urlsplit(cfg.ws_url), urlsplit(cfg.rest_url)
    assert (ws.scheme, ws.hostname, ws.port) == ("wss", "stream." + "binance.com", 9443)
    assert (rest.scheme, rest.hostname, rest.port) == ("https", "api." + "binance.com", None)
    assert cfg.http == ("127.0.0.1", 8080)
    assert cfg.stream_timeout == 300
    assert cfg.retention_days == 7


def test_precedence_is_command_line_then_environment_then_file_then_default(tmp_path):
    ini = tmp_path / "t.ini"
    ini.write_text("[service]\nsymbols = AAAUSDT\ndata_dir = /from/file\nhttp = 127.0.0.1:1111\n")
    env = {"TRADEACTORS_SYMBOLS": "BBBUSDT", "TRADEACTORS_DATA_DIR": "/from/env"}
    cfg = load(ini, env, symbols="cccusdt")
    assert cfg.symbols == ("CCCUSDT",)
    assert str(cfg.data_dir) == "/from/env"
    assert cfg.http == ("127.0.0.1", 1111)
    assert cfg.ws_url == config.SCHEMA["ws_url"].default  # not set anywhere: the default


def test_every_error_is_reported_at_once_naming_key_and_origin():
    with pytest.raises(ConfigError) as info:
        load(env={"TRADEACTORS_HTTP": "localhost:http"}, symbols="btc-usdt", ws_url="ftp://x")
    text = str(info.value)
    assert len(info.value.errors) == 3
    assert "symbols: 'btc-usdt'" in text and "--symbols" in text
    assert "http:" in text and "environment TRADEACTORS_HTTP" in text
    assert "ws_url:" in text and "ws or wss" in text


@pytest.mark.parametrize("key,value,allowed", [
    ("http", "127.0.0.1:70000", "0..65535"),
    ("http", "8080", "HOST:PORT"),
    ("rest_url", "api.binance.com", "http or https"),
    ("symbols", "", "2-20 letters"),
    ("symbols", "A", "2-20 letters"),
    ("stream_timeout", "soon", "a number"),
    ("flush_max_trades", "0", "range"),
    ("log_format", "xml", "text, json"),
])
def test_bad_values_name_what_is_allowed(key, value, allowed):
    with pytest.raises(ConfigError) as info:
        load(**{key: value})
    assert info.value.errors[0].startswith(f"{key}:")
    assert allowed in info.value.errors[0]


def test_unknown_ini_key_suggests_the_closest(tmp_path):
    ini = tmp_path / "t.ini"
    ini.write_text("[service]\nsymbol = BTCUSDT\n[stream]\nstream_timout = 5\n")
    with pytest.raises(ConfigError) as info:
        load(ini)
    assert any("did you mean 'symbols'" in e for e in info.value.errors)
    assert any("did you mean 'stream_timeout'" in e for e in info.value.errors)


def test_missing_config_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError) as info:
        load(tmp_path / "absent.ini")
    assert "cannot read" in str(info.value)


def test_symbols_are_upper_cased_and_deduplicated():
    assert load(symbols=" btcusdt , ETHUSDT,BTCUSDT").symbols == ("BTCUSDT", "ETHUSDT")


def test_shipped_ini_file_is_valid_and_equals_the_defaults():
    shipped = os.path.join(os.path.dirname(__file__), "..", "etc", "tradeactors.ini")
    assert load(shipped) == load()


def test_unwritable_data_dir_is_a_config_error(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        if os.access(locked, os.W_OK):  # root ignores permissions: use a path under a regular file instead
            target = tmp_path / "file"
            target.write_text("")
            cfg = load(data_dir=str(target / "sub"))
        else:
            cfg = load(data_dir=str(locked / "sub"))
        with pytest.raises(ConfigError) as info:
            config.check_data_dir(cfg)
        assert info.value.errors[0].startswith("data_dir:")
    finally:
        locked.chmod(stat.S_IRWXU)


@pytest.mark.parametrize("make,says", [
    (lambda tmp: tmp / "absent.pem", "cannot read"),
    (lambda tmp: tmp, "cannot read"),  # a directory
    (lambda tmp: (tmp / "junk.pem").write_text("not a certificate") and tmp / "junk.pem", "no usable PEM"),
])
def test_ca_file_that_cannot_be_used_names_the_key(tmp_path, make, says):
    with pytest.raises(ConfigError) as info:
        load(ca_file=str(make(tmp_path)))
    assert info.value.errors[0].startswith("ca_file:") and says in info.value.errors[0]
    assert "--ca-file" in info.value.errors[0]


def test_ca_file_is_trusted_besides_the_system_store(tmp_path):
    import trustme

    from tradeactors import tls

    ca_path = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(ca_path))
    cfg = load(env={"TRADEACTORS_CA_FILE": str(ca_path)})
    assert cfg.ca_file == ca_path
    system = tls.client_context(None).cert_store_stats()["x509_ca"]
    both = tls.client_context(cfg.ca_file)
    assert both.cert_store_stats()["x509_ca"] == system + 1
    assert both.check_hostname and both.verify_mode == ssl.CERT_REQUIRED  # never switched off
    assert load().ca_file is None


@pytest.mark.parametrize("key", ["stream_down_alert", "book_unsynced_alert"])
def test_health_alert_delays_are_positive_seconds(key):
    assert getattr(load(**{key: "5"}), key) == 5.0
    with pytest.raises(ConfigError) as info:
        load(**{key: "0"})
    assert info.value.errors[0].startswith(f"{key}:") and "range" in info.value.errors[0]


def test_all_with_filters_and_refresh():
    cfg = load(symbols="all", quote_assets="usdt, fdusd,USDT", exclude="btcusdt", symbols_refresh="30")
    assert cfg.all_symbols and cfg.symbols == ("ALL",)
    assert cfg.quote_assets == ("USDT", "FDUSD") and cfg.exclude == ("BTCUSDT",) and cfg.symbols_refresh == 30
    assert cfg.selection.every and cfg.selection.quote_assets == ("USDT", "FDUSD")
    default = load()
    assert not default.all_symbols and default.symbols_refresh == 600 and default.quote_assets == ()


@pytest.mark.parametrize("overrides,key,text", [
    ({"symbols": "ALL,BTCUSDT"}, "symbols", "ALL stands alone"),
    ({"symbols": "ALL", "quote_assets": "US-DT"}, "quote_assets", "is not an asset"),
    ({"symbols": "ALL", "exclude": "BTC_USDT"}, "exclude", "is not a symbol"),
    ({"symbols": "BTCUSDT", "quote_assets": "USDT"}, "quote_assets", "applies only with symbols = ALL"),
    ({"symbols": "BTCUSDT", "exclude": "ETHUSDT"}, "exclude", "applies only with symbols = ALL"),
    ({"symbols_refresh": "0.5"}, "symbols_refresh", "outside the allowed range"),
])
def test_bad_symbol_set_values_name_the_key(overrides, key, text):
    with pytest.raises(ConfigError) as caught:
        load(**overrides)
    assert any(line.startswith(f"{key}: ") and text in line for line in caught.value.errors), caught.value.errors
