"""The replay feed: replays recorded events (a file the simulator wrote with --record) at N x speed
or as fast as possible. Replaying a day from the lake joins it with the persistence layer."""
