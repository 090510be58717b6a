"""A small LSP client for the server tests and the latency bench: spawns ``python -m refactor
server`` and speaks JSON-RPC over its stdio with Content-Length framing, as an editor does.

Every raw message the server sends is kept in ``received_raw`` (bytes), so a test can grep the
whole conversation (the secret canary check). Requests from the server are kept in
``server_requests``; ``workspace/configuration`` is answered from ``config`` (a client's settings,
e.g. ``{"dfix": {"unsafeFixes": True}}``; a missing section is null)."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class LspClient:
    def __init__(self, cwd: str | None = None, argv: list[str] | None = None, env: dict | None = None) -> None:
        self.proc = subprocess.Popen(
            argv or [sys.executable, "-m", "refactor", "server"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd or str(ROOT),
            env={**os.environ, **(env or {})},
        )
        self.next_id = 0
        self.responses: dict[int, dict] = {}
        self.notifications: queue.Queue = queue.Queue()
        self.received_raw: list[bytes] = []
        self.server_requests: list[dict] = []
        self.config: dict = {}
        self.sent_raw: list[bytes] = []
        self.lock = threading.Condition()
        self.closed = False
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.stderr_chunks: list[bytes] = []
        self.stderr_reader = threading.Thread(target=self._drain_stderr, daemon=True)
        self.stderr_reader.start()

    # --- transport ---------------------------------------------------------------------------
    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        for chunk in iter(lambda: self.proc.stderr.read1(65536), b""):  # type: ignore[union-attr]
            self.stderr_chunks.append(chunk)

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        try:
            while True:
                headers = {}
                while True:
                    line = out.readline()
                    if not line:
                        raise EOFError
                    line = line.strip()
                    if not line:
                        break
                    k, _, v = line.decode("ascii").partition(":")
                    headers[k.strip().lower()] = v.strip()
                n = int(headers["content-length"])
                body = out.read(n)
                self.received_raw.append(body)
                msg = json.loads(body)
                if "id" in msg and "method" in msg:  # a request from the server
                    self._answer(msg)
                elif "id" in msg:
                    with self.lock:
                        self.responses[msg["id"]] = msg
                        self.lock.notify_all()
                else:
                    self.notifications.put(msg)
        except (EOFError, ValueError, OSError):
            pass
        finally:
            with self.lock:
                self.closed = True
                self.lock.notify_all()

    def _answer(self, msg: dict) -> None:
        result = None
        if msg["method"] == "workspace/configuration":
            result = [self._section(item.get("section")) for item in msg.get("params", {}).get("items", [])]
        self.send_raw(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": result}).encode())
        with self.lock:  # recorded once answered: what a test sends next follows the answer
            self.server_requests.append(msg)
            self.lock.notify_all()

    def _section(self, section: str | None):
        value = self.config
        for part in (section or "").split(".") if section else ():
            if not isinstance(value, dict) or part not in value:
                return None
            value = value[part]
        return value

    def wait_server_request(self, method: str, after: int = 0, timeout: float = 20.0) -> dict:
        """The first request ``method`` from the server among ``server_requests[after:]``."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                for m in self.server_requests[after:]:
                    if m["method"] == method:
                        return m
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    raise TimeoutError(method)
                self.lock.wait(left)

    def send_raw(self, body: bytes) -> None:
        assert self.proc.stdin is not None
        self.sent_raw.append(body)
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def send(self, msg: dict) -> None:
        self.send_raw(json.dumps({"jsonrpc": "2.0", **msg}).encode("utf-8"))

    # --- requests / notifications --------------------------------------------------------------
    def request(self, method: str, params, timeout: float = 20.0) -> dict:
        self.next_id += 1
        rid = self.next_id
        self.send({"id": rid, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        with self.lock:
            while rid not in self.responses:
                if self.closed:
                    raise RuntimeError(f"server closed before answering {method}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(method)
                self.lock.wait(left)
            return self.responses.pop(rid)

    def notify(self, method: str, params) -> None:
        self.send({"method": method, "params": params})

    def wait_notification(self, method: str, pred=lambda p: True, timeout: float = 20.0) -> dict:
        deadline = time.monotonic() + timeout
        skipped = []
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(method)
                msg = self.notifications.get(timeout=left)
                if msg.get("method") == method and pred(msg.get("params")):
                    return msg["params"]
                skipped.append(msg)
        except queue.Empty:
            raise TimeoutError(method) from None
        finally:
            for m in skipped:  # keep what others may wait for
                self.notifications.put(m)

    def diagnostics(self, uri: str, version: int | None = None, timeout: float = 20.0) -> list[dict]:
        p = self.wait_notification(
            "textDocument/publishDiagnostics", lambda p: p["uri"] == uri and (version is None or p.get("version") == version), timeout
        )
        return p["diagnostics"]

    def drain(self) -> None:
        while True:
            try:
                self.notifications.get_nowait()
            except queue.Empty:
                return

    # --- session -----------------------------------------------------------------------------
    def initialize(self, root: str, options: dict | None = None, capabilities: dict | None = None) -> dict:
        uri = Path(root).resolve().as_uri()
        caps = capabilities or {
            "workspace": {"workspaceEdit": {"documentChanges": True}, "configuration": True},
            "textDocument": {"publishDiagnostics": {"versionSupport": True}},
        }
        r = self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": uri,
                "workspaceFolders": [{"uri": uri, "name": "ws"}],
                "capabilities": caps,
                "initializationOptions": options or {},
            },
        )
        self.notify("initialized", {})
        return r

    def open(self, uri: str, text: str, version: int = 1, language_id: str = "dockerfile") -> None:
        self.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": language_id, "version": version, "text": text}})

    def change(self, uri: str, text: str, version: int) -> None:
        self.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]})

    def shutdown(self, timeout: float = 10.0) -> int:
        try:
            self.request("shutdown", None, timeout=timeout)
            self.notify("exit", None)
            self.proc.stdin.close()  # type: ignore[union-attr]
        except (OSError, RuntimeError, TimeoutError):
            pass
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return -9
        finally:
            self.close()

    def close(self) -> None:
        """Wait for the reader threads and close the pipes (no ResourceWarning)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(timeout=5)
        self.stderr_reader.join(timeout=5)
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                if f is not None:
                    f.close()
            except OSError:
                pass

    def all_received(self) -> bytes:
        return b"\n".join(self.received_raw)


# --- applying LSP edits as an editor does --------------------------------------------------------


def _line_starts(text: str) -> list[int]:
    import re

    starts = [0]
    for m in re.finditer(r"\r\n|\r|\n", text):
        starts.append(m.end())
    return starts


def _offset(text: str, starts: list[int], pos: dict) -> int:
    """A UTF-16 LSP position → index in ``text``."""
    line = pos["line"]
    if line >= len(starts):
        return len(text)
    i = starts[line]
    units = pos["character"]
    n = 0
    while n < units and i < len(text) and text[i] not in "\r\n":
        n += 2 if ord(text[i]) > 0xFFFF else 1
        i += 1
    return i


def apply_text_edits(text: str, edits: list[dict]) -> str:
    starts = _line_starts(text)
    spans = []
    for k, e in enumerate(edits):
        s = _offset(text, starts, e["range"]["start"])
        t = _offset(text, starts, e["range"]["end"])
        spans.append((s, t, k, e["newText"]))
    spans.sort()
    out, pos = [], 0
    for s, t, _k, new in spans:
        assert s >= pos, "overlapping edits"
        out.append(text[pos:s])
        out.append(new)
        pos = t
    out.append(text[pos:])
    return "".join(out)


def apply_workspace_edit(text: str, uri: str, edit: dict) -> str:
    if edit.get("documentChanges"):
        for dc in edit["documentChanges"]:
            assert dc["textDocument"]["uri"] == uri
            text = apply_text_edits(text, dc["edits"])
        return text
    return apply_text_edits(text, edit["changes"][uri])
