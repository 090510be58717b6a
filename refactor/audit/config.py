"""Credentials in an image config blob: history, ``config.Env``, ``Labels``, ``OnBuild``.

What BuildKit writes (checked on Docker Engine 28.5 / BuildKit in buildx 0.29, see
``tests/e2e/test_audit_build.py``), oldest step first in ``history``:

- ``ARG NAME=value``: the value the build used (a ``--build-arg`` value too, not only the default);
- ``ENV NAME=value``, ``LABEL key=value``;
- ``RUN |N K1=v1 K2=v2 … /bin/sh -c <command> # buildkit``: every ARG in scope, in declaration
  order, ``K=v`` joined by single spaces and **not quoted**, so a value may hold spaces (and even
  `` X=`` text). ``N`` says how many pairs there are. Exec-form RUNs are written the same way with
  their argv joined by spaces.

The classic builder writes ``|N K=v … /bin/sh -c …`` (no ``RUN``) and ``/bin/sh -c #(nop)  ENV K=v``.

Splitting the pairs: the first key starts the text; each following key is a `` NAME=`` boundary.
Names declared by the image's own ``ARG`` steps are preferred as boundaries (so ``SPACEY=a b NODE=x c``
stays one value when ``NODE`` is no ARG), then any identifier. The last value ends where the shell
(``config.Shell``, default ``/bin/sh -c``) starts, else at the first space.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from refactor.analysis import literals
from refactor.analysis.secrets import is_placeholder, is_reference, judge
from refactor.audit.model import Hit
from refactor.codecache import regex

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_PAIR_START = regex(rf"({_NAME})=")
_BOUNDARY = regex(rf" ({_NAME})=")
_RUN_PREFIX = regex(r"^(?:RUN )?\|(\d+) ")
_NOP = regex(r"^/bin/sh -c #\(nop\)\s+")
_KEYWORD = regex(r"^(ARG|ENV|LABEL|RUN|ONBUILD)\s+(.*)$", re.S)
_DUMMY = regex(r"(?i)^(?:dummy|none|null|nil|unset|undefined|n/?a|-+|\*+|x+)$")


def is_leaked_value(name: str, value: str | None) -> bool:
    """A value in an image is a leaked secret when the classifier says the variable is a secret
    and the value is a real literal (not empty, not a ``$VAR`` left unexpanded, not a placeholder)."""
    if value is None:
        return False
    v = value.strip()
    if len(v) < 4 or is_reference(v) or is_placeholder(v) or _DUMMY.match(v):
        return False
    return judge(name, value).secret


def split_pairs(text: str, count: int | None, known: Iterable[str] = (), shell: str = "/bin/sh -c") -> tuple[list[tuple[str, str]], str]:
    """``K1=v1 K2=v 2 rest…`` -> ([(K1, v1), (K2, "v 2")], rest). With ``count`` (the ``|N`` of a
    RUN) exactly N pairs are taken and the rest is the command; without it every pair is taken."""
    m = _PAIR_START.match(text)
    if not m:
        return [], text
    known = set(known)
    bounds = [(b.start(), b.group(1)) for b in _BOUNDARY.finditer(text, m.end())]
    cmd_at = len(text)
    if count is not None:
        # the command starts at the shell, searched after the last plausible key
        cands = _find_all(text, " " + shell + " ")
    chosen: list[tuple[int, str]] = []
    if count is None:
        chosen = bounds
    else:
        need = count - 1
        if need > 0:
            chosen = [b for b in bounds if b[1] in known][:need]
            for b in bounds:  # too few declared names: the earliest other boundaries fill in
                if len(chosen) >= need:
                    break
                if b not in chosen:
                    chosen.append(b)
            chosen.sort()
        last_key_at = chosen[-1][0] if chosen else 0
        after = [c for c in cands if c > last_key_at]
        if after:
            cmd_at = after[0]
        else:
            sp = text.find(" ", (chosen[-1][0] + 1) if chosen else 0)
            if chosen:
                sp = text.find(" ", text.index("=", chosen[-1][0] + 1) + 1)
            else:
                sp = text.find(" ", m.end())
            cmd_at = sp if sp >= 0 else len(text)
        chosen = [b for b in chosen if b[0] < cmd_at]
    starts = [(0, m.group(1))] + [(s + 1, n) for s, n in chosen]
    pairs = []
    for i, (s, n) in enumerate(starts):
        vstart = s + len(n) + 1
        vend = chosen[i][0] if i < len(chosen) else cmd_at
        pairs.append((n, text[vstart:vend]))
    rest = text[cmd_at:].lstrip(" ") if count is not None else ""
    return pairs, rest


def _find_all(text: str, needle: str) -> list[int]:
    out, i = [], text.find(needle)
    while i >= 0:
        out.append(i)
        i = text.find(needle, i + 1)
    return out


def _unquote(v: str) -> str:
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
        return v[1:-1]
    return v


def literal_hits(text: str, where: str, strong_only: bool = False) -> list[Hit]:
    """Committed credentials recognisable in free text (token formats, URL passwords, ``-u u:p``…)."""
    out: list[Hit] = []
    if not text:
        return out
    scan = getattr(literals.scan, "__wrapped__", literals.scan)  # no cache: texts can be large
    for lit in scan(text, strong_only):
        if lit.pieces:
            value = "\n".join(text[a:b] for a, b in lit.pieces)
        else:
            value = text[lit.start : lit.end]
        if value.strip():
            out.append(Hit(lit.kind, value, where, named=False))
    return out


def _judge_pairs(pairs: list[tuple[str, str]], where: str, **kw) -> list[Hit]:
    return [Hit(k, v, where, **kw) for k, v in pairs if is_leaked_value(k, v)]


def _instruction_hits(text: str, where: str, known: set[str], shell: str, step: int | None = None) -> list[Hit]:
    """One history ``created_by`` (or an ONBUILD trigger)."""
    t = _NOP.sub("", text.strip())
    if t.endswith(" # buildkit"):
        t = t[: -len(" # buildkit")]
    hits: list[Hit] = []
    m = _RUN_PREFIX.match(t)
    if m:
        pairs, cmd = split_pairs(t[m.end() :], int(m.group(1)), known, shell)
        if cmd.startswith(shell + " "):
            cmd = cmd[len(shell) + 1 :]
        hits += _judge_pairs(pairs, f"{where} (RUN build arg)")
        hits += literal_hits(cmd, f"{where} (RUN command)")
        for h in hits:
            h.run_command = cmd
            h.step = step
        return hits
    k = _KEYWORD.match(t)
    if k:
        kw, rest = k.group(1), k.group(2)
        if kw in ("ARG", "ENV", "LABEL"):
            if kw == "ENV" and "=" not in rest.split(" ", 1)[0]:  # classic `ENV K V`
                name, _, val = rest.partition(" ")
                pairs = [(name, val)]
            else:
                pairs, _ = split_pairs(rest, None, known, shell)
            pairs = [(_unquote(n), _unquote(v)) for n, v in pairs]
            hits += _judge_pairs(pairs, f"{where} ({kw})", step=step)
            hits += literal_hits(rest, f"{where} ({kw})")
            return hits
        if kw == "RUN":
            body = rest
            if body.startswith(shell + " "):
                body = body[len(shell) + 1 :]
            hits += literal_hits(body, f"{where} (RUN command)")
            for h in hits:
                h.run_command = body
                h.step = step
            return hits
        if kw == "ONBUILD":
            return _instruction_hits(rest, where, known, shell, step)
    # COPY/ADD/CMD/legacy RUN without build args, …: format-recognisable literals only
    if t.startswith(shell + " "):
        body = t[len(shell) + 1 :]
        hits += [Hit(h.name, h.value, h.where, h.named, body, step) for h in literal_hits(body, f"{where} (RUN command)")]
        return hits
    return literal_hits(t, where)


def declared_args(history: list) -> set[str]:
    names: set[str] = set()
    for h in history:
        cb = _NOP.sub("", str((h or {}).get("created_by") or "")) if isinstance(h, dict) else ""
        if cb.startswith("ARG "):  # the first name only: a value may hold ` X=` text
            n = cb[4:].split(" ", 1)[0].split("=", 1)[0]
            if re.fullmatch(_NAME, n):
                names.add(n)
    return names


def scan_config(doc: dict) -> list[Hit]:
    """Every leaked credential of one image config (OCI/Docker config JSON)."""
    if not isinstance(doc, dict):
        return []
    cfg = doc.get("config") or doc.get("Config") or {}
    if not isinstance(cfg, dict):
        cfg = {}
    shell_l = cfg.get("Shell")
    shell = " ".join(shell_l) if isinstance(shell_l, list) and shell_l and all(isinstance(x, str) for x in shell_l) else "/bin/sh -c"
    hist = doc.get("history") or []
    if not isinstance(hist, list):
        hist = []
    known = declared_args(hist)
    hits: list[Hit] = []
    total = len(hist)
    for i, h in enumerate(hist, 1):
        if not isinstance(h, dict):
            continue
        cb = h.get("created_by")
        if isinstance(cb, str) and cb:
            hits += _instruction_hits(cb, f"history step {i}/{total}", known, shell, i)
        comment = h.get("comment")
        if isinstance(comment, str) and comment and not comment.startswith("buildkit."):
            hits += literal_hits(comment, f"history step {i}/{total} (comment)")
    env = cfg.get("Env") or []
    if isinstance(env, list):
        for e in env:
            if isinstance(e, str) and "=" in e:
                k, v = e.split("=", 1)
                if is_leaked_value(k, v):
                    hits.append(Hit(k, v, "Env"))
                else:
                    hits += literal_hits(v, f"Env {k}")
    labels = cfg.get("Labels") or {}
    if isinstance(labels, dict):
        for k, v in labels.items():
            if not isinstance(v, str):
                continue
            if is_leaked_value(str(k), v):
                hits.append(Hit(str(k), v, f"Label {k}"))
            else:
                hits += literal_hits(v, f"Label {k}")
    onbuild = cfg.get("OnBuild") or []
    if isinstance(onbuild, list):
        for j, trig in enumerate(onbuild, 1):
            if isinstance(trig, str):
                hits += _instruction_hits(trig, f"OnBuild trigger {j}", known, shell)
    for key in ("Cmd", "Entrypoint"):
        val = cfg.get(key)
        if isinstance(val, list) and all(isinstance(x, str) for x in val):
            hits += literal_hits(" ".join(val), key)
    return hits


def scan_provenance(doc: object) -> list[Hit]:
    """Build args in a BuildKit provenance statement (SLSA v0.2 ``invocation.parameters.args``,
    v1 ``buildDefinition.externalParameters.request.args``): keys ``build-arg:NAME``."""
    hits: list[Hit] = []

    def walk(node: object, depth: int) -> None:
        if depth > 12:
            return
        if isinstance(node, dict):
            for k, v in node.items():
                if isinstance(k, str) and k.startswith("build-arg:") and isinstance(v, str):
                    name = k[len("build-arg:") :]
                    if is_leaked_value(name, v):
                        hits.append(Hit(name, v, "provenance attestation (build arg)"))
                else:
                    walk(v, depth + 1)
        elif isinstance(node, list):
            for x in node:
                walk(x, depth + 1)

    walk(doc, 0)
    return hits
