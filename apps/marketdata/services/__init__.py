"""Writes of market data, by sub-domain: streams (the hot store writer), trim, gaps, dead letters."""
