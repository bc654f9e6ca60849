"""The proxy a call goes through when ``Configuration.proxy`` is not set, read from the environment as ``requests``
reads it: ``HTTP_PROXY`` for ``http://`` URLs, ``HTTPS_PROXY`` for ``https://`` URLs, ``ALL_PROXY`` for either,
and ``NO_PROXY`` for the hosts that are reached directly. Each name may be upper or lower case (lower case wins).
An ApiClient reads them once, when it is made (:meth:`ProxyEnvironment.read`).

``NO_PROXY`` is a comma-separated list of entries: ``*`` (no proxy at all), a host name that matches itself and its
subdomains (``example.com``, ``.example.com`` and ``*.example.com`` all match ``api.example.com``), an IP address,
an IP network (``10.0.0.0/8``), each optionally with ``:port`` to match that port only. Loopback addresses are not
special: list ``localhost,127.0.0.1`` to reach them directly.
"""

import ipaddress
import os
from typing import NamedTuple, Optional, Tuple, Union
from urllib.parse import urlsplit

from urllib3.exceptions import LocationValueError
from urllib3.util import parse_url

__all__ = ["ProxyEnvironment", "bypasses_proxy"]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]


def _lookup(name: str, cgi: bool = False) -> Tuple[str, str]:
    """A proxy variable as urllib (and so requests) reads it, with the name it was read from: the lower-case name
    wins when it is set, even to nothing (which turns the proxy off); else the upper-case one, unless ``cgi`` says
    that it may be a request header (``HTTP_PROXY`` under CGI)."""
    value = os.environ.get(name)
    if value is not None:
        return value, name
    if cgi and "REQUEST_METHOD" in os.environ:
        return "", name
    return os.environ.get(name.upper(), ""), name.upper()


class ProxyEnvironment(NamedTuple):
    """The proxy variables as read at one moment, each as (value, the name it was read from). Under CGI
    (``REQUEST_METHOD`` set) ``HTTP_PROXY`` is a request header, so only ``http_proxy`` counts, as in urllib."""

    http: Tuple[str, str]
    https: Tuple[str, str]
    all: Tuple[str, str]
    no_proxy: str

    @classmethod
    def read(cls) -> "ProxyEnvironment":
        """Looks up only the proxy variables: a scan of the whole environment would cost more."""
        return cls(
            _lookup("http_proxy", cgi=True), _lookup("https_proxy"), _lookup("all_proxy"), _lookup("no_proxy")[0]
        )

    @property
    def names_a_proxy(self) -> bool:
        return any(value.strip() for value, _ in (self.http, self.https, self.all))

    def proxy_for(self, url: str) -> Optional[str]:
        """The proxy URL for ``url``, or None to connect directly. A value that is no usable proxy URL raises
        :class:`urllib3.exceptions.LocationValueError` naming the variable (the transport makes it an
        ``ApiConnectionError`` that is not retried)."""
        scheme = url.partition("://")[0].lower()
        proxy, variable = {"http": self.http, "https": self.https}.get(scheme, ("", ""))
        if not proxy:
            proxy, variable = self.all
        proxy = proxy.strip()
        if not proxy:
            return None
        target = urlsplit(url)
        if not target.hostname:
            return None
        port = target.port or _DEFAULT_PORTS.get(target.scheme, 80)
        if bypasses_proxy(target.hostname, port, self.no_proxy):
            return None
        proxy = proxy if "://" in proxy else f"http://{proxy}"
        problem = _problem(proxy)
        if problem:
            raise LocationValueError(f"{variable}={proxy!r} is not a usable proxy URL ({problem}): {_HOW}")
        return proxy


_HOW = "set it to http://host:port (or http://user:password@host:port), or list the host in NO_PROXY"


def _problem(proxy: str) -> Optional[str]:
    try:
        parsed = parse_url(proxy)
    except LocationValueError:  # urllib3's wording differs between its versions: say it in ours
        return "its host or port cannot be read"
    if parsed.scheme not in ("http", "https"):
        return f"scheme {parsed.scheme}: only http:// and https:// proxies are supported"
    if not parsed.host:
        return "no host"
    return None


def bypasses_proxy(host: str, port: int, no_proxy: str) -> bool:
    """Whether ``NO_PROXY`` (its text) says that ``host:port`` is reached directly."""
    host = host.lower().strip("[]").rstrip(".")
    address = _address(host)
    for entry in no_proxy.lower().split(","):
        entry = entry.strip()
        if entry == "*":
            return True
        name, entry_port = _split_port(entry)
        if not name or (entry_port is not None and entry_port != port):
            continue
        if "/" in name:
            if address is not None and _in_network(address, name):
                return True
            continue
        entry_address = _address(name)
        if entry_address is not None:
            if entry_address == address:
                return True
            continue
        name = name.lstrip("*").lstrip(".")
        if name and (host == name or host.endswith("." + name)):
            return True
    return False


def _split_port(entry: str) -> Tuple[str, Optional[int]]:
    """``host:port``, ``[v6]:port``, ``v6`` or ``host`` as (host, port or None)."""
    if entry.startswith("["):
        name, _, rest = entry[1:].partition("]")
        return name, _port(rest[1:]) if rest.startswith(":") else None
    if entry.count(":") == 1:
        name, _, port = entry.partition(":")
        return name, _port(port)
    return entry, None


def _port(text: str) -> Optional[int]:
    return int(text) if text.isdigit() else None


def _address(text: str) -> Optional[_Address]:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _in_network(address: _Address, network: str) -> bool:
    try:
        return address in ipaddress.ip_network(network, strict=False)
    except ValueError:
        return False
