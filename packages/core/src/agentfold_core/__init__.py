"""agentfold-core: schemas, validation models and data access."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("agentfold-core")
except PackageNotFoundError:  # running from a source tree without installed metadata
    __version__ = "0.0.0+unknown"
