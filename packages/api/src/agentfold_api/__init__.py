"""agentfold-api: the Litestar REST service."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("agentfold-api")
except PackageNotFoundError:  # running from a source tree without metadata
    __version__ = "0.0.0"
