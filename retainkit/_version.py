"""The installed retainkit version (one place; ``retainkit.__version__`` re-exports it)."""

__version__ = "0.1.0"
