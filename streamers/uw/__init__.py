"""The Unusual Whales feed: option trades, flow alerts, prices, news and gamma exposure from UW's
socket (UW's `[channel, payload]` frames, or Phoenix V2 arrays), into the UW streams and the GEX
app's snapshots; a REST back-fill of the flow alerts missed during a gap."""
