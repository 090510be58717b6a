"""The server object of ``dfix server`` (``refactor.server.app`` registers its handlers): the open
documents and what each is (a Dockerfile, a caller, neither), the one worker thread that analyses
them, debouncing and publishing, the settings and their ``workspace/configuration`` pull.
"""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.uris import to_fs_path

from refactor.records import dataclass
from refactor.server import core

log = logging.getLogger("dfix.server")


DOCKERFILE_LANGUAGES = ("dockerfile", "containerfile")
CONFIG_NAMES = (".dfix.toml", "pyproject.toml")
BIG_DOCUMENT = 1_000_000  # characters; the engine takes about 1.7 s per MB here
BIG_CALLER = 250_000  # characters; a caller is parsed several times per analysis (about 2.5 s per MB)
BIG_DEBOUNCE_MS = 750
CONFIG_TIMEOUT_S = 10  # a client that never answers workspace/configuration keeps the settings it has


@dataclass
class Doc:
    uri: str
    version: int | None
    text: str
    language_id: str
    role: str | None = None  # "dockerfile", "caller" or None (left alone); set on open
    caller_kind: str | None = None  # a caller's kind (core.caller_kind_of)
    real: str | None = None  # os.path.realpath of the file (None: untitled)


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
        self.init_options = core.EditorOptions()
        self.root_uri: str | None = None
        self.config_seq = 0  # the newest workspace/configuration request; older answers are dropped
        self.dockerfile_texts: dict[str, str] = {}  # real path -> the buffer text its callers last saw

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

    def classify(self, doc: Doc) -> Doc:
        """The document with its role: a Dockerfile (by language or name), a caller (a file on disk
        that caller discovery would read: refactor.callers.kinds), or neither."""
        path = self.path_of(doc.uri)
        real = os.path.realpath(path) if path else None
        if doc.language_id.lower().startswith(DOCKERFILE_LANGUAGES):  # also eglot's "dockerfile-ts"
            return replace(doc, role="dockerfile", real=real)
        from refactor.discovery import is_dockerfile_name

        if is_dockerfile_name(os.path.basename((path or doc.uri).rstrip("/"))):
            return replace(doc, role="dockerfile", real=real)
        kind = None
        if path:
            try:
                kind = core.caller_kind_of(path)
            except Exception:  # noqa: BLE001
                kind = None
        return replace(doc, role="caller" if kind else None, caller_kind=kind, real=real)

    def wants(self, doc: Doc) -> bool:
        return doc.role is not None

    def buffers(self) -> dict[str, str]:
        """The open Dockerfiles' texts by real path (a caller's Dockerfiles are read from these
        before the disk). Taken on the event loop, handed to the worker."""
        return {d.real: d.text for d in list(self.docs.values()) if d.role == "dockerfile" and d.real}

    def analyse_now(self, doc: Doc, buffers: dict[str, str] | None = None) -> core.Analysis:
        if doc.role == "caller" and doc.caller_kind:
            return core.analyse_caller(
                doc.uri, doc.version, doc.text, self.path_of(doc.uri) or "", doc.caller_kind, self.options, self.encoding, buffers
            )
        return core.analyse(doc.uri, doc.version, doc.text, self.path_of(doc.uri), self.options, self.encoding)

    def relint_callers_of(self, reals: set[str]) -> None:
        """Open callers that build one of these Dockerfiles are analysed again."""
        if not reals:
            return
        for uri, a in list(self.analyses.items()):
            doc = self.docs.get(uri)
            if doc is not None and doc.role == "caller" and reals & set(a.builds):
                self.analyses.pop(uri, None)
                self.schedule(uri)

    def schedule(self, uri: str, delay_ms: int | None = None) -> None:
        doc = self.docs.get(uri)
        if doc is None or not self.wants(doc):
            return
        task = self.tasks.get(uri)
        if task is not None and not task.done():
            self.dirty.add(uri)
            return
        delay = self.options.debounce_ms if delay_ms is None else delay_ms
        if delay_ms is None and len(doc.text) > (BIG_CALLER if doc.role == "caller" else BIG_DOCUMENT):
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
                a = await loop.run_in_executor(self.pool, self.analyse_now, doc, self.buffers())
                cur = self.docs.get(uri)
                if cur is None:
                    return
                if cur.version == doc.version and cur.text is doc.text:
                    self.analyses[uri] = a
                    self.publish(a)
                    if doc.role == "dockerfile" and doc.real and self.dockerfile_texts.get(doc.real) is not doc.text:
                        self.dockerfile_texts[doc.real] = doc.text
                        self.relint_callers_of({doc.real})
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
        a = await asyncio.get_running_loop().run_in_executor(self.pool, self.analyse_now, doc, self.buffers())
        cur = self.docs.get(uri)
        if cur is not None and cur.version == doc.version and cur.text is doc.text:
            self.analyses[uri] = a
        return a

    def relint_all(self) -> None:
        core.forget_callers()
        for uri in list(self.docs):
            self.analyses.pop(uri, None)
            self.schedule(uri, 0)

    def config_pull(self) -> bool:
        try:
            ws = self.client_capabilities.workspace
            return bool(ws and ws.configuration)
        except Exception:  # noqa: BLE001
            return False

    async def pull_configuration(self, pushed=None, *, event: bool = False) -> None:
        """Ask the client for the ``dfix`` section (``workspace/configuration``) and apply it over
        the initialization options; a client without the section (null) keeps what it pushed.
        Open documents are analysed again after a change event, else when the settings changed."""
        self.config_seq += 1
        seq = self.config_seq
        value = None
        try:
            item = types.ConfigurationItem(section="dfix", scope_uri=self.root_uri)
            res = await asyncio.wait_for(
                self.workspace_configuration_async(types.ConfigurationParams(items=[item])), timeout=CONFIG_TIMEOUT_S
            )
            value = res[0] if res else None
        except Exception as exc:  # noqa: BLE001 - a client error or no answer: keep the settings
            log.warning("dfix server: workspace/configuration failed (%s)", type(exc).__name__)
        if seq != self.config_seq:
            return  # a newer request is on its way
        if isinstance(value, dict):
            new = core.EditorOptions.parse(value, self.init_options)
        else:
            new = core.EditorOptions.parse(pushed, self.options)
        self.apply_options(new, always=event)

    def apply_options(self, new: core.EditorOptions, always: bool = False) -> None:
        if always or new != self.options:
            self.options = new
            self.relint_all()

    def versioned_edits(self) -> bool:
        try:
            ws = self.client_capabilities.workspace
            return bool(ws and ws.workspace_edit and ws.workspace_edit.document_changes)
        except Exception:  # noqa: BLE001
            return False
