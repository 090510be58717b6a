"""A private artifact server for real-build tests.

It listens on 127.0.0.1 (BuildKit's RUN reaches it with ``--network host``) and answers 200 only to
requests that carry an expected credential:

- ``Authorization: Bearer <tok>``
- ``Authorization: Basic base64(user:pass)``: the password, the user (``https://TOKEN@host``) or
  the whole ``user:pass`` may be the expected value
- ``X-JFrog-Art-Api: <tok>``, ``PRIVATE-TOKEN: <tok>`` and GitLab's ``JOB-TOKEN: <tok>``

Everything else gets 401, unless the test allows anonymous access. The server records every
credential it saw, so a test can ask ``server.saw(canary)``: the secret really reached the RUN.
It never prints a credential: its log and its ``repr`` hold paths and verdicts only.
"""

from __future__ import annotations

import base64
import binascii
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_PORT = 38517  # a fixed port lets the base image (which bakes it in) be reused across sessions


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    scheme: str  # "bearer" | "basic" | "jfrog" | "private-token" | "none" | "malformed"
    ok: bool

    def __repr__(self) -> str:  # no credential in here, by construction
        return f"<{self.method} {self.path} {self.scheme} {'200' if self.ok else '401'}>"


def _credentials(headers) -> tuple[str, list[str]]:
    """Return (scheme, candidate credential strings) of one request."""
    found: list[str] = []
    scheme = "none"
    auth = headers.get("Authorization")
    if auth:
        kind, _, rest = auth.strip().partition(" ")
        rest = rest.strip()
        if kind.lower() == "bearer" and rest:
            scheme = "bearer"
            found.append(rest)
        elif kind.lower() == "basic" and rest:
            try:
                pair = base64.b64decode(rest + "=" * (-len(rest) % 4), validate=False).decode("utf-8", "replace")
            except (binascii.Error, ValueError):
                return "malformed", found
            scheme = "basic"
            user, _, password = pair.partition(":")
            found.extend(x for x in (password, user, pair) if x)
        elif kind.lower() == "token" and rest:  # GitHub-style "Authorization: token X"
            scheme = "bearer"
            found.append(rest)
        else:
            scheme = "malformed"
    for header, name in (("X-JFrog-Art-Api", "jfrog"), ("PRIVATE-TOKEN", "private-token"), ("JOB-TOKEN", "job-token")):
        value = headers.get(header)
        if value:
            scheme = name if scheme == "none" else scheme
            found.append(value.strip())
    return scheme, found


class ArtifactServer:
    """``with ArtifactServer() as server: server.expect(canary); ...; server.saw(canary)``."""

    def __init__(self, port: int | None = None, host: str = "127.0.0.1"):
        self.host = host
        self._want_port = port
        self._lock = threading.Lock()
        self._expected: set[str] = set()
        self._seen: set[str] = set()
        self.requests: list[Request] = []
        self.allow_anonymous = False
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- configuration, per test -------------------------------------------------------------
    def expect(self, *credentials: str) -> None:
        """Accept these values (a token, a password, or ``user:password``)."""
        with self._lock:
            self._expected.update(str(c) for c in credentials if c)

    def reset(self) -> None:
        with self._lock:
            self._expected.clear()
            self.requests.clear()
            self.allow_anonymous = False

    def saw(self, credential: str) -> bool:
        """Whether any request carried this value (accepted or not)."""
        with self._lock:
            return str(credential) in self._seen

    def accepted(self) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.ok)

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def start(self) -> "ArtifactServer":
        handler = self._make_handler()
        ports = [self._want_port] if self._want_port is not None else [DEFAULT_PORT, 0]
        last: OSError | None = None
        for port in ports:
            try:
                self._httpd = ThreadingHTTPServer((self.host, port), handler)
                break
            except OSError as exc:  # port taken: fall back to a random free one
                last = exc
        if self._httpd is None:
            raise RuntimeError(f"artifact server could not bind: {last}")
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="dfix-artifact-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "ArtifactServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.address if self._httpd else "stopped"
        return f"<ArtifactServer {where} expected={len(self._expected)} requests={len(self.requests)}>"

    # -- the handler -------------------------------------------------------------------------
    def _judge(self, method: str, path: str, headers) -> bool:
        scheme, creds = _credentials(headers)
        with self._lock:
            self._seen.update(creds)
            ok = any(c in self._expected for c in creds) or (scheme == "none" and self.allow_anonymous)
            self.requests.append(Request(method, path.split("?", 1)[0], scheme, ok))
        return ok

    def _make_handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def _answer(self, with_body: bool = True) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                ok = server._judge(self.command, self.path, self.headers)
                if ok:
                    body = f"dfix-artifact {self.path.split('?', 1)[0]}\n".encode()
                    self.send_response(200)
                else:
                    body = b"401 Unauthorized\n"
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="dfix"')
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if with_body:
                    self.wfile.write(body)

            def do_GET(self):  # noqa: N802
                self._answer()

            def do_HEAD(self):  # noqa: N802
                self._answer(with_body=False)

            do_POST = do_PUT = do_GET  # noqa: N815

            def log_message(self, *args) -> None:  # never log (headers could hold values)
                pass

        return Handler


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
