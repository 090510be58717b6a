"""``dfix server``: the Language Server (pygls) over stdio.

Documents are synced in full (the server keeps the editor's exact text; no incremental
re-splicing with a different idea of lines). Each open Dockerfile is analysed in one worker thread
(the engine is CPU-bound; one thread keeps runs ordered); a change while a run is in progress is
picked up right after it, and only the newest text is published (debounced by
``dfix.debounceMs``, 10 ms by default). Handlers never raise: a failure becomes "no result" and a
one-line log entry naming the exception type, never its text (which could quote the document).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.uris import to_fs_path

from refactor.server import core

log = logging.getLogger("dfix.server")

DOCKERFILE_LANGUAGES = ("dockerfile", "containerfile")
CONFIG_NAMES = (".dfix.toml", "pyproject.toml")
BIG_DOCUMENT = 1_000_000  # characters; the engine takes about 1.7 s per MB here
BIG_DEBOUNCE_MS = 750


@dataclass
class Doc:
    uri: str
    version: int | None
    text: str
    language_id: str


class _Protocol(LanguageServerProtocol):
    """pygls drops a request whose params do not deserialize without answering it (the client
    would wait forever): answer it with InvalidParams (no detail: the params may quote the text)."""

    def structure_message(self, data):
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if isinstance(data, dict) and "id" in data and "method" in data and isinstance(data["id"], (int, str)):
                try:
                    self._send_response(data["id"], error=type(exc)().to_response_error())
                except Exception:  # noqa: BLE001
                    pass
            raise


class DfixServer(LanguageServer):
    def __init__(self) -> None:
        from refactor import __version__

        super().__init__("dfix", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Full, protocol_cls=_Protocol)
        self.docs: dict[str, Doc] = {}
        self.analyses: dict[str, core.Analysis] = {}
        self.options = core.EditorOptions()
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dfix-engine")
        self.tasks: dict[str, asyncio.Task] = {}
        self.dirty: set[str] = set()

    # pygls reports out-of-band errors with the exception's text (window/showMessage): never that
    def report_server_error(self, error, source) -> None:
        log.error("dfix server: internal error (%s)", type(error).__name__)

    # --- documents ----------------------------------------------------------------------------
    @property
    def encoding(self) -> str:
        try:
            enc: object = self.workspace.position_encoding
        except Exception:  # noqa: BLE001
            enc = None
        return str(getattr(enc, "value", enc) or "utf-16")

    def path_of(self, uri: str) -> str | None:
        if not uri.startswith("file:"):
            return None
        try:
            return to_fs_path(uri)
        except Exception:  # noqa: BLE001
            return None

    def wants(self, doc: Doc) -> bool:
        if doc.language_id.lower().startswith(DOCKERFILE_LANGUAGES):  # also eglot's "dockerfile-ts"
            return True
        from refactor.discovery import is_dockerfile_name

        path = self.path_of(doc.uri) or doc.uri
        return is_dockerfile_name(os.path.basename(path.rstrip("/")))

    def analyse_now(self, doc: Doc) -> core.Analysis:
        return core.analyse(doc.uri, doc.version, doc.text, self.path_of(doc.uri), self.options, self.encoding)

    def schedule(self, uri: str, delay_ms: int | None = None) -> None:
        doc = self.docs.get(uri)
        if doc is None or not self.wants(doc):
            return
        task = self.tasks.get(uri)
        if task is not None and not task.done():
            self.dirty.add(uri)
            return
        delay = self.options.debounce_ms if delay_ms is None else delay_ms
        if delay_ms is None and len(doc.text) > BIG_DOCUMENT:
            delay = max(delay, BIG_DEBOUNCE_MS)  # seconds of analysis: wait for typing to pause
        self.tasks[uri] = asyncio.get_running_loop().create_task(self._lint(uri, delay))

    async def _lint(self, uri: str, delay_ms: int) -> None:
        try:
            if delay_ms:
                await asyncio.sleep(delay_ms / 1000)
            loop = asyncio.get_running_loop()
            while True:
                self.dirty.discard(uri)
                doc = self.docs.get(uri)
                if doc is None:
                    return
                a = await loop.run_in_executor(self.pool, self.analyse_now, doc)
                cur = self.docs.get(uri)
                if cur is None:
                    return
                if cur.version == doc.version and cur.text is doc.text:
                    self.analyses[uri] = a
                    self.publish(a)
                    if uri not in self.dirty:
                        return
                # the text changed meanwhile: analyse the newest one
        except Exception as exc:  # noqa: BLE001
            log.error("dfix server: analysis failed (%s)", type(exc).__name__)

    def publish(self, a: core.Analysis) -> None:
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=a.uri, version=a.version, diagnostics=a.diagnostics))
        if a.config_error and a.config_error != getattr(self, "_shown_config_error", None):
            self._shown_config_error = a.config_error
            self.window_show_message(types.ShowMessageParams(type=types.MessageType.Error, message=f"dfix config error: {a.config_error}"))

    async def current(self, uri: str) -> core.Analysis | None:
        """The analysis of the document's current text (computed now if the last one is stale)."""
        doc = self.docs.get(uri)
        if doc is None or not self.wants(doc):
            return None
        a = self.analyses.get(uri)
        if a is not None and a.version == doc.version and a.text is doc.text:
            return a
        a = await asyncio.get_running_loop().run_in_executor(self.pool, self.analyse_now, doc)
        cur = self.docs.get(uri)
        if cur is not None and cur.version == doc.version and cur.text is doc.text:
            self.analyses[uri] = a
        return a

    def relint_all(self) -> None:
        for uri in list(self.docs):
            self.analyses.pop(uri, None)
            self.schedule(uri, 0)

    def versioned_edits(self) -> bool:
        try:
            ws = self.client_capabilities.workspace
            return bool(ws and ws.workspace_edit and ws.workspace_edit.document_changes)
        except Exception:  # noqa: BLE001
            return False


server = DfixServer()


def _safe(default=None):
    """Wrap a handler: any exception becomes ``default`` and a log line with its type only."""
    import functools
    import inspect

    def deco(fn):
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def awrapper(*args, **kw):
                try:
                    return await fn(*args, **kw)
                except Exception as exc:
                    if os.environ.get("DFIX_DEBUG"):
                        raise
                    log.error("dfix server: %s failed (%s)", fn.__name__, type(exc).__name__)
                    return default

            return awrapper

        @functools.wraps(fn)
        def wrapper(*args, **kw):
            try:
                return fn(*args, **kw)
            except Exception as exc:
                if os.environ.get("DFIX_DEBUG"):
                    raise
                log.error("dfix server: %s failed (%s)", fn.__name__, type(exc).__name__)
                return default

        return wrapper

    return deco


@server.feature(types.INITIALIZE)
@_safe()
def initialize(ls: DfixServer, params: types.InitializeParams) -> None:
    ls.options = core.EditorOptions.parse(params.initialization_options)
    root = None
    if params.workspace_folders:
        root = ls.path_of(params.workspace_folders[0].uri)
    elif params.root_uri:
        root = ls.path_of(params.root_uri)
    elif params.root_path:
        root = params.root_path
    if root and os.path.isdir(root):
        # display paths and build commands are relative to the workspace root, as `dfix PATH`
        # run there prints them (the server never writes anything, so the cwd is only a base)
        os.chdir(root)


@server.feature(types.INITIALIZED)
@_safe()
def initialized(ls: DfixServer, params: types.InitializedParams) -> None:
    def warm() -> None:  # import the engine and its parsers before the first document arrives
        try:
            core.analyse("warmup:", 0, "FROM alpine:3.20\nARG NPM_TOKEN\nRUN npm ci\n", None, core.EditorOptions())
        except Exception:  # noqa: BLE001
            pass

    ls.pool.submit(warm)


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
@_safe()
def did_open(ls: DfixServer, params: types.DidOpenTextDocumentParams) -> None:
    td = params.text_document
    ls.docs[td.uri] = Doc(td.uri, td.version, td.text, td.language_id or "")
    ls.schedule(td.uri, 0)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
@_safe()
def did_change(ls: DfixServer, params: types.DidChangeTextDocumentParams) -> None:
    doc = ls.docs.get(params.text_document.uri)
    if doc is None:
        return
    text = doc.text
    for change in params.content_changes:
        if isinstance(change, types.TextDocumentContentChangeWholeDocument) or getattr(change, "range", None) is None:
            text = change.text
        else:  # a client that ignores our Full sync: apply the range with our own line model
            from refactor.server.positions import LineIndex

            idx = LineIndex(text, ls.encoding)
            s, e = idx.offset(change.range.start), idx.offset(change.range.end)
            text = text[:s] + change.text + text[e:]
    ls.docs[doc.uri] = Doc(doc.uri, params.text_document.version, text, doc.language_id)
    ls.schedule(doc.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
@_safe()
def did_close(ls: DfixServer, params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    ls.docs.pop(uri, None)
    ls.analyses.pop(uri, None)
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
@_safe()
def did_save(ls: DfixServer, params: types.DidSaveTextDocumentParams) -> None:
    path = ls.path_of(params.text_document.uri) or ""
    if os.path.basename(path) in CONFIG_NAMES:
        ls.relint_all()


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
@_safe()
def did_change_watched(ls: DfixServer, params: types.DidChangeWatchedFilesParams) -> None:
    if any(os.path.basename(ls.path_of(c.uri) or "") in CONFIG_NAMES for c in params.changes):
        ls.relint_all()


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
@_safe()
def did_change_configuration(ls: DfixServer, params: types.DidChangeConfigurationParams) -> None:
    ls.options = core.EditorOptions.parse(params.settings, ls.options)
    ls.relint_all()


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, types.CodeActionKind.SourceFixAll, core.FIX_ALL_KIND]),
)
@_safe(default=None)
async def code_action(ls: DfixServer, params: types.CodeActionParams):
    a = await ls.current(params.text_document.uri)
    if a is None:
        return None
    only = [str(k.value if hasattr(k, "value") else k) for k in params.context.only] if params.context.only else None
    return await asyncio.get_running_loop().run_in_executor(ls.pool, core.code_actions, a, params.range, only, ls.versioned_edits()) or None


@server.feature(types.TEXT_DOCUMENT_HOVER)
@_safe(default=None)
async def hover(ls: DfixServer, params: types.HoverParams):
    a = await ls.current(params.text_document.uri)
    return core.hover(a, params.position) if a is not None else None


@server.feature(types.TEXT_DOCUMENT_CODE_LENS)
@_safe(default=None)
async def code_lens(ls: DfixServer, params: types.CodeLensParams):
    a = await ls.current(params.text_document.uri)
    if a is None:
        return None
    return await asyncio.get_running_loop().run_in_executor(ls.pool, core.code_lenses, a) or None


@server.command(core.CMD_BUILD)
@_safe(default=None)
async def show_build_command(ls: DfixServer, *args):
    """Returns {"command", "recipe"} (clients may copy it) and shows the recipe in a message."""
    uri = args[0] if args and isinstance(args[0], str) else None
    if uri is None and args and isinstance(args[0], list) and args[0]:
        uri = args[0][0]
    if not isinstance(uri, str):
        return None
    a = await ls.current(uri)
    if a is None:
        return None
    cmd = await asyncio.get_running_loop().run_in_executor(ls.pool, core.build_command, a)
    if cmd is None:
        return None
    ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Info, message=cmd[1]))
    return {"command": cmd[0], "recipe": cmd[1]}


def serve(log_file: str | None = None) -> int:
    """Run the server on stdin/stdout until the client says exit."""
    handler: logging.Handler = logging.FileHandler(log_file) if log_file else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    # pygls logs failing requests with their params (document text): keep only our own lines
    logging.getLogger("pygls").setLevel(logging.CRITICAL)
    server.start_io()
    # the specification: exit code 0 after a shutdown request, 1 when the client exits without one
    return 0 if getattr(server.protocol, "_shutdown", False) else 1
