"""One of the two processes of the refresh-lock test: waits for the go file, then asks the token
store for a fresh Schwab token; its refresh notes each call in the calls file and is slow, so the
other process comes while it runs. Prints the access token it ended with.

    python -m tests.apps.brokers.refresher GO_FILE CALLS_FILE
"""

from __future__ import annotations

import os
import sys
import time
from datetime import timedelta
from pathlib import Path


def main() -> None:
    import django

    django.setup()
    from apps.brokers.services import token_refresh_with_lock
    from apps.brokers.tokens import TokenSet, TokenUpdate
    from apps.core.clock import utc_now

    go, calls = Path(sys.argv[1]), Path(sys.argv[2])

    def refresh(current: TokenSet) -> TokenUpdate:
        with calls.open("a") as handle:
            handle.write(f"{os.getpid()} spent {current.refresh_token}\n")
        time.sleep(1.0)
        return TokenUpdate(
            access_token=f"access-from-{os.getpid()}", access_expires_at=utc_now() + timedelta(minutes=30)
        )

    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.01)
    token = token_refresh_with_lock(provider="schwab", refresh=refresh)
    print(f"token {token.access_token}", flush=True)


if __name__ == "__main__":
    main()
