"""The Schwab Trader API streamer: OAuth tokens from apps/brokers, the streamer WebSocket, and
the price-history REST endpoint for back-filling bars after a gap."""
