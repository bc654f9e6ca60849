"""Unit tests run without the network: creating any socket fails the test."""

import socket

import pytest


class SocketOpened(AssertionError):
    """A unit test tried to open a socket."""


@pytest.fixture(autouse=True)
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise SocketOpened("unit tests must not open sockets")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
