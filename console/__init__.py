"""Recon Console: keeps a trading bot's book of record in line with the venue."""

__version__ = "0.1.0"
