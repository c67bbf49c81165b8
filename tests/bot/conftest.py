"""The bot's tests stand in the trading tests' world (the fake tastytrade, the sandbox pointed
at it, one allowlisted trader, the clock on a plain Tuesday)."""

from tests.apps.trading.conftest import clock, fake, trading

__all__ = ["clock", "fake", "trading"]
