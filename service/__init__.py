"""The answering service: retrieval, answers, the HTTP API and the CLI."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("minutes-qa")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
