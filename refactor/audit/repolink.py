"""``--repo PATH``: name the Dockerfile line whose build arg produced a history entry.

Every Dockerfile of the repository (``refactor.discovery``) is parsed with dfix's own parser. A
history ``RUN |N … /bin/sh -c <cmd>`` is matched to the RUN instructions whose argument text
(flags such as ``--mount`` dropped, continuation lines joined, blanks collapsed) equals ``<cmd>``;
``ARG``/``ENV``/``LABEL`` entries to the instructions declaring that name.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict

from refactor.codecache import regex

_WS = regex(r"\s+")
_CONT = regex(r"\\\r?\n")


def _norm(text: str) -> str:
    return _WS.sub(" ", _CONT.sub("", text)).strip()


class RepoIndex:
    def __init__(self, root: str):
        from refactor.discovery import discover
        from refactor.source import SourceFile
        from refactor.syntax.dockerfile import ParseError, parse

        self.root = root
        self.runs: dict[str, list[tuple[str, int]]] = defaultdict(list)
        self.decls: dict[str, list[tuple[str, int, str]]] = defaultdict(list)
        self.errors: list[str] = []
        for cand in discover([root]):
            path = getattr(cand, "path", None) or str(cand)
            rel = os.path.relpath(path, root)
            try:
                with open(path, "rb") as f:
                    df = parse(SourceFile.from_bytes(rel, f.read()))
            except (OSError, ParseError, ValueError) as exc:
                self.errors.append(f"{rel}: {type(exc).__name__}")
                continue
            except Exception as exc:  # noqa: BLE001 - InputError and friends: one line, go on
                self.errors.append(f"{rel}: {type(exc).__name__}")
                continue
            for ins in df.instructions:
                cmd = ins.effective
                if cmd.cmd == "run":
                    args = cmd.args
                    if args.startswith("["):
                        try:
                            import json

                            args = " ".join(json.loads(args))
                        except ValueError:
                            pass
                    self.runs[_norm(args)].append((rel, ins.start_line))
                elif cmd.cmd in ("arg", "env", "label"):
                    for word in re.split(r"\s+", cmd.args):
                        name = word.split("=", 1)[0].strip("\"'")
                        if name:
                            self.decls[name].append((rel, ins.start_line, cmd.cmd.upper()))

    def for_run(self, command: str) -> list[str]:
        n = _norm(command)
        hits = self.runs.get(n)
        if not hits:
            for shell in ("/bin/sh -c ", "/bin/bash -c "):
                if n.startswith(shell):
                    hits = self.runs.get(n[len(shell) :])
                    if hits:
                        break
        return [f"{p}:{line} (RUN)" for p, line in hits or []]

    def for_name(self, name: str) -> list[str]:
        return [f"{p}:{line} ({kw} {name})" for p, line, kw in self.decls.get(name, [])]
