"""``dfix server``: the Language Server (pygls) over stdio.

Documents are synced in full (the server keeps the editor's exact text; no incremental
re-splicing with a different idea of lines). Each open Dockerfile, and each open caller (a build
script, compose, bake or CI file that builds one: ``core_callers``), is analysed in one worker thread
(the engine is CPU-bound; one thread keeps runs ordered); a change while a run is in progress is
picked up right after it, and only the newest text is published (debounced by
``dfix.debounceMs``, 10 ms by default). Handlers never raise: a failure becomes "no result" and a
one-line log entry naming the exception type, never its text (which could quote the document).

Settings: ``initializationOptions``, then the client's ``dfix`` section pulled with
``workspace/configuration`` (on ``initialized`` and on every ``workspace/didChangeConfiguration``,
when the client has that capability), else the settings a ``didChangeConfiguration`` pushes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from dataclasses import replace

from lsprotocol import types

from refactor.server import core
from refactor.server.state import (  # noqa: F401 - the server's state, re-exported for tests and tools
    BIG_CALLER,
    BIG_DEBOUNCE_MS,
    BIG_DOCUMENT,
    CONFIG_NAMES,
    CONFIG_TIMEOUT_S,
    DOCKERFILE_LANGUAGES,
    DfixServer,
    Doc,
)

log = logging.getLogger("dfix.server")

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
    ls.options = ls.init_options = core.EditorOptions.parse(params.initialization_options)
    root = None
    if params.workspace_folders:
        ls.root_uri = params.workspace_folders[0].uri
        root = ls.path_of(params.workspace_folders[0].uri)
    elif params.root_uri:
        ls.root_uri = params.root_uri
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
    if ls.config_pull():
        asyncio.get_running_loop().create_task(ls.pull_configuration())
        try:  # and be told when it changes (a client that only sends the event when registered)
            ws = ls.client_capabilities.workspace
            dcc = ws.did_change_configuration if ws else None
            if dcc is not None and dcc.dynamic_registration:
                reg = types.Registration(id="dfix-configuration", method=types.WORKSPACE_DID_CHANGE_CONFIGURATION)
                ls.client_register_capability(types.RegistrationParams(registrations=[reg]))
        except Exception as exc:  # noqa: BLE001
            log.warning("dfix server: registration failed (%s)", type(exc).__name__)


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
@_safe()
def did_open(ls: DfixServer, params: types.DidOpenTextDocumentParams) -> None:
    td = params.text_document
    ls.docs[td.uri] = ls.classify(Doc(td.uri, td.version, td.text, td.language_id or ""))
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
    ls.docs[doc.uri] = replace(doc, version=params.text_document.version, text=text)
    ls.schedule(doc.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
@_safe()
def did_close(ls: DfixServer, params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    doc = ls.docs.pop(uri, None)
    ls.analyses.pop(uri, None)
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
    if doc is not None and doc.role == "dockerfile" and doc.real:
        ls.dockerfile_texts.pop(doc.real, None)
        ls.relint_callers_of({doc.real})  # its callers read it from disk again


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
@_safe()
def did_save(ls: DfixServer, params: types.DidSaveTextDocumentParams) -> None:
    path = ls.path_of(params.text_document.uri) or ""
    if os.path.basename(path) in CONFIG_NAMES:
        ls.relint_all()
    elif path:
        ls.relint_callers_of({os.path.realpath(path)})


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
@_safe()
def did_change_watched(ls: DfixServer, params: types.DidChangeWatchedFilesParams) -> None:
    paths = [ls.path_of(c.uri) or "" for c in params.changes]
    if any(os.path.basename(p) in CONFIG_NAMES for p in paths):
        ls.relint_all()
    else:
        ls.relint_callers_of({os.path.realpath(p) for p in paths if p})


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
@_safe()
def did_change_configuration(ls: DfixServer, params: types.DidChangeConfigurationParams) -> None:
    if ls.config_pull():  # the pull model: the event says "ask again" (its settings are a fallback)
        asyncio.get_running_loop().create_task(ls.pull_configuration(params.settings, event=True))
        return
    ls.apply_options(core.EditorOptions.parse(params.settings, ls.options), always=True)


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
    if uri is None and not args:  # (Helix's :lsp-workspace-command sends no argument) the Dockerfile opened last
        uri = next((u for u, d in reversed(list(ls.docs.items())) if d.role == "dockerfile"), None)
    if not isinstance(uri, str):
        return None
    a = await ls.current(uri)
    if a is None:
        return None
    cmd = await asyncio.get_running_loop().run_in_executor(ls.pool, core.build_command, a)
    if cmd is None:
        return None
    ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Info, message=cmd[1].rstrip("\n")))
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
