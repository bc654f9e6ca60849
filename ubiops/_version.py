"""The one place the package version is written; setup.py and the user agent read it."""

__version__ = "0.1.0"
