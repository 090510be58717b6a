"""How one run behaves: the mode, the rules, the fix policy, the outputs (CLI flags and config
keys, merged by ``refactor.cli``)."""

from __future__ import annotations

from dataclasses import field
from enum import StrEnum

from refactor.analysis.policy import Policy
from refactor.records import dataclass
from refactor.rules import Selection
from refactor.source import DEFAULT_MAX_BYTES


class Mode(StrEnum):
    """What a run does with the files (black's ``WriteBack``). A StrEnum: ``mode == "write"``
    holds, and the JSON/summary spell it as before."""

    REPORT = "report"  # findings only; writes nothing
    DIFF = "diff"  # print the patch; writes nothing
    CHECK = "check"  # gate: exit 1 when anything would change or remains; writes nothing
    WRITE = "write"  # rewrite in place

    @property
    def writes(self) -> bool:
        return self is Mode.WRITE


@dataclass
class Settings:
    mode: Mode = Mode.REPORT
    unsafe_fixes: bool = False
    mount_style: str = "auto"
    require_secrets: bool = False
    emit: tuple[str, ...] = ("docker",)
    policy: Policy = field(default_factory=Policy)
    max_bytes: int = DEFAULT_MAX_BYTES
    selection: Selection = field(default_factory=Selection)  # --select/--extend-select/--ignore
    per_file_ignores: dict = field(default_factory=dict)
    strategy: str = "auto"  # auto (= mount) | mount | multistage
    render_always: bool = True  # the JSON contract has every --emit target for every file
    defer_write: bool = False  # the caller writes (after planning callers together with Dockerfiles)
    keep_text: bool = True  # return original/new text (diffs, SARIF fixes, markdown, deferred writes)
    pin_digests: bool = False
    sign: str | None = None  # notation | cosign
    image: str | None = None  # image name for --sign snippets
    sign_key: str | None = None  # --sign-key: cosign key reference / notation key name
    callers: str = "all"  # all | given (only callers named on the command line change)
    failure_threshold: str = "info"  # error | warning | info | none: which remaining findings exit 1
    split_events: bool = False  # hand the DF010 scan this file's events (refactor.supply.split)
    debug: bool = False  # -v: an internal error raises (a traceback) instead of becoming a file error
    cache_dir: str | None = None  # the result cache's directory (refactor.cache); None: no cache
