"""voxrelay: an open, self-hostable voice platform speaking RELAY, and its Python SDK."""

__version__ = "0.1.0"
