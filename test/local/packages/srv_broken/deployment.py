"""Test package of the server tests: fails while loading, so every request to it fails with the load error."""

raise ImportError("srv_broken cannot be loaded, on purpose")
