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
import hashlib
import os
import shutil
import socket
import tempfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

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


def _digest(value: str) -> str:
    return hashlib.sha256(str(value).encode("utf-8", "surrogateescape")).hexdigest()


class ArtifactServer:
    """``with ArtifactServer() as server: server.expect(canary); ...; server.saw(canary)``.

    What it expects and what it saw are kept in a directory, as SHA-256 digests (never values).
    With ``port=0`` (the test sessions) it binds a free port and the directory is its own, removed
    at ``stop``: concurrent sessions share nothing. With the fixed default port (``port=None``,
    manual demos) servers of several processes cooperate: they bind the port with SO_REUSEPORT
    and share the directory of that port, so whichever process the kernel hands a connection to
    answers it correctly.
    """

    def __init__(self, port: int | None = None, host: str = "127.0.0.1"):
        self.host = host
        self._want_port = port
        self._lock = threading.Lock()
        self._mine: set[str] = set()  # digests this process expects
        self.requests: list[Request] = []  # the requests this process served
        self.accept_any = False  # demos only: any credential is accepted (and still recorded)
        self._store: Path | None = None
        self._private_store = False
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- the shared store ----------------------------------------------------------------------
    def _path(self, kind: str, digest: str = "") -> Path:
        assert self._store is not None, "server not started"
        return self._store / kind / digest if digest else self._store / kind

    def _has(self, kind: str, digest: str) -> bool:
        return self._path(kind, digest).exists()

    def _touch(self, kind: str, digest: str, append: bool = False) -> None:
        with open(self._path(kind, digest), "ab" if append else "wb") as f:
            if append:
                f.write(b".")

    # -- configuration, per test -------------------------------------------------------------
    def expect(self, *credentials: str) -> None:
        """Accept these values (a token, a password, or ``user:password``)."""
        for c in credentials:
            if c:
                d = _digest(c)
                self._touch("expected", d)
                with self._lock:
                    self._mine.add(d)

    def reset(self) -> None:
        """Forget this process's expectations (other sessions' stay) and its request log."""
        with self._lock:
            mine, self._mine = self._mine, set()
            self.requests.clear()
            self.accept_any = False
        for d in mine:
            for kind in ("expected", "accepted"):
                self._path(kind, d).unlink(missing_ok=True)
        self.allow_anonymous = False

    @property
    def allow_anonymous(self) -> bool:
        return self._store is not None and self._path("anonymous", str(os.getpid())).exists()

    @allow_anonymous.setter
    def allow_anonymous(self, value: bool) -> None:
        flag = self._path("anonymous", str(os.getpid()))
        if value:
            flag.touch()
        else:
            flag.unlink(missing_ok=True)

    def saw(self, credential: str) -> bool:
        """Whether any request carried this value (accepted or not), whichever process served it."""
        return self._has("seen", _digest(credential))

    def accepted(self, credential: str | None = None) -> int:
        """Accepted requests carrying this value (default: any value this process expects)."""
        digests = [_digest(credential)] if credential is not None else list(self._mine)
        total = 0
        for d in digests:
            try:
                total += self._path("accepted", d).stat().st_size
            except FileNotFoundError:
                pass
        return total

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
        if self._want_port is not None:
            attempts = [(self._want_port, self._want_port != 0)]
        else:
            attempts = [(DEFAULT_PORT, True), (0, False)]
        last: OSError | None = None
        shared = False
        for port, share in attempts:
            cls = _SharedHTTPServer if share else ThreadingHTTPServer
            try:
                self._httpd = cls((self.host, port), handler)
                shared = share
                break
            except OSError as exc:  # port taken by someone else: fall back to a random free one
                last = exc
        if self._httpd is None:
            raise RuntimeError(f"artifact server could not bind: {last}")
        if shared:
            self._store = Path(tempfile.gettempdir()) / f"dfix-artifact-server-{self.port}"
        else:  # nobody else answers on this port: a fresh directory, not one a past server left
            self._store = Path(tempfile.mkdtemp(prefix=f"dfix-artifact-server-{self.port}-"))
            self._private_store = True
        for kind in ("expected", "seen", "accepted", "anonymous"):
            self._path(kind).mkdir(parents=True, exist_ok=True)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="dfix-artifact-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            mine = set(self._mine)
            self.reset()
            for d in mine:
                self._path("seen", d).unlink(missing_ok=True)
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
            if self._private_store and self._store is not None:
                shutil.rmtree(self._store, ignore_errors=True)

    def __enter__(self) -> "ArtifactServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.address if self._httpd else "stopped"
        return f"<ArtifactServer {where} expected={len(self._mine)} requests={len(self.requests)}>"

    # -- the handler -------------------------------------------------------------------------
    def _judge(self, method: str, path: str, headers) -> bool:
        scheme, creds = _credentials(headers)
        digests = [_digest(c) for c in creds]
        for d in digests:
            self._touch("seen", d)
        good = [d for d in digests if self._has("expected", d)]
        anonymous_ok = scheme == "none" and any(self._path("anonymous").iterdir())
        ok = bool(good) or anonymous_ok or (self.accept_any and bool(creds))
        if good:
            self._touch("accepted", good[0], append=True)
        with self._lock:
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


class _SharedHTTPServer(ThreadingHTTPServer):
    """Binds with SO_REUSEPORT, so cooperating sessions share the fixed port."""

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        super().server_bind()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv: list[str] | None = None) -> None:
    """``python -m tests.e2e.artifact_server [--port N] [--accept-any]``: serve until Ctrl-C (for
    manual ``dfix verify`` demos against the test base image, whose stand-ins call this port)."""
    import argparse
    import time

    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=DEFAULT_PORT)
    ap.add_argument("--accept-any", action="store_true", help="accept any credential (never anonymous)")
    args = ap.parse_args(argv)
    srv = ArtifactServer(port=args.port).start()
    srv.accept_any = args.accept_any
    print(f"artifact server on {srv.address} (accept any credential: {srv.accept_any})", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        srv.stop()


if __name__ == "__main__":
    main()
