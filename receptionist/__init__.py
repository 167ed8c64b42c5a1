"""receptionist: a self-hosted AI phone receptionist for Asterisk."""

__version__ = "0.1.0"
