"""Configuration: defaults, environment variables, the Authorization header, masking, copying, equality."""

import copy
import logging

import pytest

import ubiops
from ubiops.configuration import DEFAULT_HOST

SECRET = "s3cr3t-t0ken-value"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    monkeypatch.delenv("UBIOPS_API_HOST", raising=False)
    monkeypatch.delenv("UBIOPS_API_TOKEN", raising=False)


def test_defaults():
    configuration = ubiops.Configuration()
    assert configuration.host == DEFAULT_HOST == "https://api.ubiops.com/v2.1"
    assert configuration.api_key == {} and configuration.api_key_prefix == {}
    assert configuration.auth_settings() == {}
    assert configuration.verify_ssl is True and configuration.ssl_ca_cert is None
    assert configuration.proxy is None and configuration.connection_pool_maxsize == 10
    assert configuration.retries == ubiops.RetryPolicy()
    assert (configuration.connect_timeout, configuration.read_timeout) == (10.0, 120.0)
    assert configuration.client_side_validation is True
    assert configuration.debug is False


def test_environment_variables(monkeypatch):
    monkeypatch.setenv("UBIOPS_API_HOST", "http://127.0.0.1:8900/v2.1/")
    monkeypatch.setenv("UBIOPS_API_TOKEN", f"Token {SECRET}")
    configuration = ubiops.Configuration()
    assert configuration.host == "http://127.0.0.1:8900/v2.1"
    assert configuration.api_key == {"Authorization": f"Token {SECRET}"}
    assert configuration.auth_settings() == {"Authorization": f"Token {SECRET}"}


def test_explicit_values_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("UBIOPS_API_HOST", "http://env-host/v2.1")
    monkeypatch.setenv("UBIOPS_API_TOKEN", "Token from-env")
    configuration = ubiops.Configuration(host="http://given/v2.1", api_key={"Authorization": "Token given"})
    assert configuration.host == "http://given/v2.1"
    assert configuration.auth_settings() == {"Authorization": "Token given"}
    configuration.host = "http://assigned/v2.1/"  # as the reference examples do, after construction
    assert configuration.host == "http://assigned/v2.1"


@pytest.mark.parametrize(
    ("key", "prefix", "header"),
    [
        ("Token abc", None, "Token abc"),
        ("abc", None, "Token abc"),  # a bare token gets the scheme
        ("  abc ", None, "Token abc"),
        ("abc", "Token", "Token abc"),
        ("abc", "Bearer", "Bearer abc"),
        ("Bearer abc", None, "Bearer abc"),
        ("", None, None),
    ],
)
def test_authorization_header(key, prefix, header):
    configuration = ubiops.Configuration()
    configuration.api_key["Authorization"] = key
    if prefix:
        configuration.api_key_prefix["Authorization"] = prefix
    assert configuration.get_api_key_with_prefix() == header
    assert configuration.auth_settings() == ({"Authorization": header} if header else {})


def test_the_token_is_never_shown(monkeypatch):
    monkeypatch.setenv("UBIOPS_API_TOKEN", f"Token {SECRET}")
    configuration = ubiops.Configuration(
        proxy=f"http://user:{SECRET}@proxy:3128", proxy_headers={"Proxy-Authorization": SECRET}
    )
    text = repr(configuration)
    assert SECRET not in text and SECRET not in str(configuration)
    assert "api_key={'Authorization': '***'}" in text
    assert "proxy='http://***@proxy:3128'" in text
    assert "host='https://api.ubiops.com/v2.1'" in text
    assert configuration.api_key["Authorization"] == f"Token {SECRET}"  # masking is for display only
    assert configuration.proxy == f"http://user:{SECRET}@proxy:3128"


def test_retries_are_coerced():
    configuration = ubiops.Configuration(retries=5)
    assert configuration.retries == ubiops.RetryPolicy(total=5)
    configuration.retries = 0
    assert configuration.retries.total == 0
    policy = ubiops.RetryPolicy(total=2, backoff_max=1)
    configuration.retries = policy
    assert configuration.retries is policy
    configuration.retries = None
    assert configuration.retries == ubiops.RetryPolicy()


def test_deepcopy_is_equal_and_independent():
    configuration = ubiops.Configuration(host="http://h/v2.1", api_key={"Authorization": "Token a"}, retries=2)
    clone = copy.deepcopy(configuration)
    assert clone == configuration and clone is not configuration
    clone.api_key["Authorization"] = "Token b"
    clone.host = "http://other/v2.1"
    assert configuration.api_key == {"Authorization": "Token a"}
    assert configuration.host == "http://h/v2.1"
    assert clone != configuration


def test_equality():
    assert ubiops.Configuration() == ubiops.Configuration()
    assert ubiops.Configuration(host="http://a") != ubiops.Configuration(host="http://b")
    assert ubiops.Configuration(read_timeout=1) != ubiops.Configuration()
    assert ubiops.Configuration() != "configuration"
    with pytest.raises(TypeError):
        hash(ubiops.Configuration())


def test_debug_leaves_the_ubiops_logger_alone():
    logger = logging.getLogger("ubiops")
    assert any(isinstance(h, logging.NullHandler) for h in logger.handlers)
    before = (list(logger.handlers), logger.level)
    configuration = ubiops.Configuration(debug=True)
    assert configuration.debug is True
    assert (logger.handlers, logger.level) == before
    configuration.debug = False
    assert configuration.debug is False and (logger.handlers, logger.level) == before


def _stderr_lines(capsys: pytest.CaptureFixture, *configurations: ubiops.Configuration) -> list:
    capsys.readouterr()
    for index, configuration in enumerate(configurations):
        configuration.log(logging.DEBUG, "call %d", index)
    return [line.split(": ", 1)[1] for line in capsys.readouterr().err.splitlines()]


def test_debug_belongs_to_one_configuration(capsys):
    first, second = ubiops.Configuration(debug=True), ubiops.Configuration(debug=True)
    quiet = ubiops.Configuration()
    assert _stderr_lines(capsys, first, second, quiet) == ["call 0", "call 1"]
    second.debug = False
    assert _stderr_lines(capsys, first, second, quiet) == ["call 0"]
    quiet.debug = True
    first.debug = False
    assert _stderr_lines(capsys, first, second, quiet) == ["call 2"]


@pytest.mark.parametrize("clone", [copy.copy, copy.deepcopy])
def test_switching_debug_off_on_a_copy_keeps_it_on_in_the_original(capsys, clone):
    original = ubiops.Configuration(debug=True)
    twin = clone(original)
    assert twin.debug is True
    twin.debug = False
    assert original.debug is True
    assert _stderr_lines(capsys, original, twin) == ["call 0"]


def test_debug_lines_follow_logger_format(capsys):
    configuration = ubiops.Configuration()
    configuration.logger_format = "[%(levelname)s] %(message)s"
    configuration.debug = True
    capsys.readouterr()
    configuration.log(logging.INFO, "Retrying %s", "GET /x")
    assert capsys.readouterr().err == "[INFO] Retrying GET /x\n"


def test_log_reaches_the_ubiops_logger_only_when_the_application_enabled_it(caplog):
    configuration = ubiops.Configuration()
    configuration.log(logging.DEBUG, "not enabled")
    with caplog.at_level(logging.DEBUG, logger="ubiops"):
        configuration.log(logging.DEBUG, "enabled %s", "here")
    assert [(r.name, r.getMessage()) for r in caplog.records] == [("ubiops", "enabled here")]
