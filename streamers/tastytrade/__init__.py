"""The tastytrade venue: the SDK's OAuth session for REST, and a DXLink WebSocket client for quotes,
trades, time and sales, summaries, greeks and (where the account is entitled) depth."""
