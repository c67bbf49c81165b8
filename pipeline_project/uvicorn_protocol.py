"""The web process's HTTP protocol: uvicorn's httptools protocol with a bound on the request URL.

Without it a WebSocket handshake whose URL is longer than the `websockets` library's 8 KiB line
limit is handed to the WebSocket protocol, which decides on a 414 but never writes it: the
connection hangs until the client gives up. Refusing the URL while the HTTP request is parsed
answers 414 at once, for a handshake and for a plain request alike. Start uvicorn with
`--http pipeline_project.uvicorn_protocol:BoundedHttpToolsProtocol` (apps/core/platform.py,
the Dockerfile and docker-compose.yml do).
"""

from __future__ import annotations

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# A request line longer than this is refused: nginx's default buffer for one, and the
# `websockets` handshake's own limit.
MAX_URL_BYTES = 8 * 1024


class UrlTooLong(httptools.HttpParserError):
    pass


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    url_refused = False

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_URL_BYTES:
            # Stops the parser; uvicorn answers the parse error through send_400_response.
            self.url_refused = True
            raise UrlTooLong(f"request URL longer than {MAX_URL_BYTES} bytes")

    def send_400_response(self, msg: str) -> None:
        if not self.url_refused:
            super().send_400_response(msg)
            return
        body = f"request URL longer than {MAX_URL_BYTES} bytes\n".encode()
        head = [b"HTTP/1.1 414 URI Too Long\r\n"]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: text/plain; charset=utf-8\r\n",
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.transport.close()
