"""Database sources of transaction logs (definitions §1): :mod:`retainkit.sources.postgres`."""
