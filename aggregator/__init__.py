"""pln: a daily digest of your one-way professional learning network."""

__version__ = "0.1.0"
