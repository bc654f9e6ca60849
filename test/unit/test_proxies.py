"""Proxies from the environment: which proxy a URL goes through, and which hosts NO_PROXY sends direct."""

from typing import Optional
from urllib.request import getproxies_environment

import pytest

from ubiops._proxies import ProxyEnvironment, bypasses_proxy

NAMES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.delenv("REQUEST_METHOD", raising=False)


def test_no_proxy_variables_means_direct():
    assert proxy_for("https://api.ubiops.com/v2.1/status") is None


def test_the_proxy_follows_the_scheme_of_the_url(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://plain-proxy:3128")
    monkeypatch.setenv("HTTPS_PROXY", "http://tls-proxy:3128")
    assert proxy_for("http://example.com/v2.1") == "http://plain-proxy:3128"
    assert proxy_for("https://example.com/v2.1") == "http://tls-proxy:3128"


def test_lower_case_wins_all_proxy_is_the_fallback_and_a_bare_host_is_http(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://upper:1")
    monkeypatch.setenv("https_proxy", "http://lower:1")
    monkeypatch.setenv("ALL_PROXY", "proxy.internal:8080")
    assert proxy_for("https://example.com") == "http://lower:1"
    assert proxy_for("http://example.com") == "http://proxy.internal:8080"


def test_no_proxy_sends_listed_hosts_direct(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example, 10.0.0.0/8")
    assert proxy_for("https://api.internal.example/v2.1") is None
    assert proxy_for("https://10.1.2.3:8443/v2.1") is None
    assert proxy_for("https://api.ubiops.com/v2.1") == "http://proxy:3128"


def test_loopback_is_proxied_unless_listed(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://proxy:3128")
    assert proxy_for("http://127.0.0.1:8900/v2.1") == "http://proxy:3128"
    assert proxy_for("http://localhost:8900/v2.1") == "http://proxy:3128"
    monkeypatch.setenv("no_proxy", "localhost,127.0.0.1")
    assert proxy_for("http://127.0.0.1:8900/v2.1") is None
    assert proxy_for("http://localhost:8900/v2.1") is None


@pytest.mark.parametrize(
    ("host", "port", "no_proxy", "bypassed"),
    [
        ("api.ubiops.com", 443, "*", True),
        ("api.ubiops.com", 443, "other.com, *", True),
        ("api.ubiops.com", 443, "ubiops.com", True),
        ("api.ubiops.com", 443, ".ubiops.com", True),
        ("api.ubiops.com", 443, "*.ubiops.com", True),
        ("ubiops.com", 443, "UBIOPS.com", True),
        ("notubiops.com", 443, "ubiops.com", False),
        ("ubiops.com.evil", 443, "ubiops.com", False),
        ("api.ubiops.com", 443, "api.ubiops.com:443", True),
        ("api.ubiops.com", 8443, "api.ubiops.com:443", False),
        ("10.1.2.3", 80, "10.0.0.0/8", True),
        ("11.1.2.3", 80, "10.0.0.0/8", False),
        ("127.0.0.1", 8900, "127.0.0.1", True),
        ("127.0.0.1", 8900, "127.0.0.1:8900", True),
        ("127.0.0.1", 8901, "127.0.0.1:8900", False),
        ("127.0.0.2", 8900, "127.0.0.1", False),
        ("::1", 8900, "::1", True),
        ("[::1]", 8900, "[::1]:8900", True),
        ("::1", 8900, "0:0:0:0:0:0:0:1", True),
        ("fd00::5", 80, "fd00::/8", True),
        ("localhost", 80, "", False),
        ("localhost", 80, " , ,", False),
    ],
)
def test_no_proxy_entries(host, port, no_proxy, bypassed):
    assert bypasses_proxy(host, port, no_proxy) is bypassed


CASES = [
    {},
    {"HTTP_PROXY": "p:1"},
    {"http_proxy": "", "HTTP_PROXY": "p:1"},  # a lower-case name set to nothing turns the proxy off
    {"http_proxy": "http://q:1", "HTTP_PROXY": "p:1"},
    {"https_proxy": "h:2", "ALL_PROXY": "a:3"},
    {"ALL_PROXY": "https://a:3"},
    {"HTTP_PROXY": "p:1", "REQUEST_METHOD": "GET"},  # CGI: HTTP_PROXY is a request header
    {"http_proxy": "q:1", "REQUEST_METHOD": "GET"},
]


@pytest.mark.parametrize("environment", CASES, ids=str)
@pytest.mark.parametrize("url", ["http://api.example.com/v2.1/status", "https://api.example.com/v2.1/status"])
def test_the_proxy_is_the_one_urllib_reads_as_requests_does(monkeypatch, environment, url):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    reference = getproxies_environment()
    expected = reference.get(url.split(":", 1)[0]) or reference.get("all")
    if expected and "://" not in expected:
        expected = "http://" + expected
    assert proxy_for(url) == (expected or None)


def proxy_for(url: str) -> Optional[str]:
    """The proxy a client made now would use for url."""
    return ProxyEnvironment.read().proxy_for(url)
