"""The simulator feed: realistic ES and NQ trades, quotes and a 10-level book, deterministic
with a seed. In-process by default; `--url ws://...` reads the same messages from a simulator
server over a WebSocket (`python -m streamers.simulator.server`)."""
