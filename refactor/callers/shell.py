"""Build commands on shell command lines, wherever they are written.

Shell scripts, Makefile and justfile recipes, CI ``run:``/``script:`` lines, Jenkins ``sh`` steps
and Python command strings all hold shell text, each wrapped in its host's own quoting. A
:class:`View` is the shell text as the shell sees it (host escapes decoded) with a map back to
source offsets and an encoder for text written back into the host. The lexer is small but
lossless enough for edits: words keep their segments (unquoted, '…', "…", expansions) with the
decoded position of every character, so a ``--build-arg`` occurrence maps to an exact source span
and the value's own source text can be moved, unchanged, into a prefix assignment.

Rewrite rules for one ``--build-arg NAME[=VALUE]`` whose ARG the Dockerfile rewrite removed:

* ``--build-arg NAME`` (passthrough): docker reads ``NAME`` from its environment, which is by
  definition exported → ``--secret id=<id>,env=NAME``, no prefix.
* ``NAME=$X`` where ``X`` is *certainly exported* → ``--secret id=<id>,env=X``, no prefix. Certain
  means: exported explicitly (``export X``, ``declare -x``, ``set -a``), or never assigned in the
  script and the script sources/evals nothing (so it was inherited from the environment, and
  inherited variables are always exported); ``${{ env.X }}`` in GitHub Actions; ``env.X``,
  ``environment {}`` and ``withCredentials`` bindings in Jenkins; just's ``env_var('X')``.
* A Makefile ``$(X)`` → ``--secret id=<id>,env=X`` and one ``export X`` line in the Makefile: make
  prints each recipe line after expanding it, so a prefix ``NAME="$(X)"`` would print the value.
* Anything else that is not a literal (a shell local, a just ``{{x}}``, a
  Groovy variable, ``$(cmd)``, ``${X:-d}``, a mix) → the value's own source text moves into a prefix
  assignment ``NAME="…" docker build … --secret id=<id>,env=NAME``: an assignment prefix exports
  the value to docker alone, with the same expansions as before (and no word splitting).
* GitHub ``${{ … }}`` expressions in ``run:`` (``secrets.X``, ``vars.X``, …) move to the step's
  ``env:`` (``NAME: ${{ secrets.X }}``) so the value is no longer pasted into the script.
* A literal value is removed and never written anywhere; the name is reported for rotation and the
  plan says where to define the secret now.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from refactor.build import SecretSpec
from refactor.fixes.edit import Edit

from .model import BuildArgUse, CallerPlan

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\+?=")

# ------------------------------------------------------------------------------------------
# Views


class View:
    """Decoded shell text over a host file; ``src(i)`` maps a decoded index to a source offset."""

    __slots__ = ("base", "enc", "fold", "groovy", "map", "text")

    def __init__(
        self,
        text: str,
        base: int = 0,
        map: list[int] | None = None,
        enc: str = "raw",
        fold: bool = False,
        groovy: frozenset[int] = frozenset(),
    ) -> None:
        self.text = text
        self.base = base
        self.map = map
        self.enc = enc
        self.fold = fold  # newlines are plain whitespace (YAML folded and multi-line plain scalars)
        self.groovy = groovy  # decoded indices of '$' that start a Groovy interpolation

    def src(self, i: int) -> int:
        return self.base + i if self.map is None else self.map[i]

    def encode(self, s: str) -> str:
        return encode(s, self.enc)


def encode(s: str, enc: str) -> str:
    """Text written into the host's string syntax (only dfix's own text goes through this)."""
    if enc == "raw":
        return s
    if enc == "yaml-dq":
        return s.replace("\\", "\\\\").replace('"', '\\"')
    if enc == "yaml-sq":
        return s.replace("'", "''")
    if enc == "groovy-sq":
        return s.replace("\\", "\\\\").replace("'", "\\'")
    if enc == "groovy-dq":
        return s.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    if enc == "groovy-tdq":
        return s.replace("\\", "\\\\").replace("$", "\\$")
    if enc == "groovy-tsq":
        return s.replace("\\", "\\\\")
    if enc in ("py-sq", "py-dq", "pyf-sq", "pyf-dq"):
        q = "'" if enc.endswith("sq") else '"'
        out = s.replace("\\", "\\\\").replace(q, "\\" + q)
        if enc.startswith("pyf"):
            out = out.replace("{", "{{").replace("}", "}}")
        return out
    raise ValueError(enc)


# ------------------------------------------------------------------------------------------
# Lexer


@dataclass
class Seg:
    kind: str  # "lit" unquoted | "sq" '…' | "dq" literal inside "…" | "exp" an expansion
    start: int  # decoded span of the raw text
    end: int
    text: str  # cooked text; for "exp" the raw expansion text
    pos: list[int]  # decoded index of each cooked character
    flavor: str = ""  # exp: sh | make | gh | just | groovy | cmd
    quote: str = ""  # '"' when inside double quotes, "'" for sq


@dataclass
class Word:
    start: int
    end: int
    segs: list[Seg]

    @property
    def cooked(self) -> str:
        return "".join(s.text for s in self.segs)

    @property
    def static(self) -> bool:
        return all(s.kind != "exp" for s in self.segs)

    def literal_prefix(self) -> str:
        """Cooked text up to the first expansion."""
        out = []
        for s in self.segs:
            if s.kind == "exp":
                break
            out.append(s.text)
        return "".join(out)

    def split_at(self, k: int) -> tuple[list[Seg], int, str]:
        """Segments of the cooked text from ``k`` on, the decoded index where that text starts in
        the raw word, and the quote it starts inside ('"', "'" or '')."""
        n = 0
        for idx, s in enumerate(self.segs):
            ln = len(s.text)
            if k < n + ln:
                off = k - n
                if s.kind == "exp":
                    return self.segs[idx:], s.start, s.quote
                first = Seg(s.kind, s.pos[off], s.end, s.text[off:], s.pos[off:], s.flavor, s.quote)
                return [first] + self.segs[idx + 1 :], s.pos[off], s.quote
            n += ln
        return [], self.end, ""


@dataclass
class Tok:
    kind: str  # word | op | nl | redir
    start: int
    end: int
    text: str = ""
    word: Word | None = None


_REDIR = re.compile(r"\d*(<<-|<<<|<<|>>|>&|<&|>\||&>>|&>|<>|>|<)")
_OPS = ("&&", "||", ";;", "|&", ";", "&", "|", "(", ")")


def _match(s: str, i: int, end: int, open_: str, close: str) -> int:
    """Index after the bracket closing the one at ``i`` (quotes skipped); ``end`` if unbalanced."""
    depth = 0
    k = i
    while k < end:
        c = s[k]
        if c == "\\":
            k += 2
            continue
        if c == "'" and open_ == "(":
            j = s.find("'", k + 1, end)
            k = end if j < 0 else j + 1
            continue
        if c == '"':
            j = k + 1
            while j < end and s[j] != '"':
                j += 2 if s[j] == "\\" else 1
            k = j + 1
            continue
        if c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return k + 1
        k += 1
    return end


class Lexer:
    def __init__(self, view: View, flavor: str = "sh") -> None:
        self.v = view
        self.s = view.text
        self.flavor = flavor  # sh | make | just | gh | groovy

    # -- expansions -----------------------------------------------------------------------
    def _exp(self, i: int, end: int, quote: str) -> Seg | None:
        s = self.s
        if s[i] == "`":
            j = i + 1
            while j < end and s[j] != "`":
                j += 2 if s[j] == "\\" else 1
            j = min(j + 1, end)
            return Seg("exp", i, j, s[i:j], list(range(i, j)), "cmd", quote)
        nxt = s[i + 1] if i + 1 < end else ""
        if i in self.v.groovy:
            if nxt == "{":
                j = _match(s, i + 1, end, "{", "}")
            else:
                m = re.compile(r"\$[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*").match(s, i, end)
                j = m.end() if m else i + 1
            return Seg("exp", i, j, s[i:j], list(range(i, j)), "groovy", quote)
        if s.startswith("${{", i):
            j = s.find("}}", i + 3, end)
            j = end if j < 0 else j + 2
            return Seg("exp", i, j, s[i:j], list(range(i, j)), "gh", quote)
        if self.flavor == "make":
            if nxt == "$":
                k = i + 2
                if k < end and s[k] == "{":
                    j = _match(s, k, end, "{", "}")
                elif k < end and s[k] == "(":
                    j = _match(s, k, end, "(", ")")
                    return Seg("exp", i, j, s[i:j], list(range(i, j)), "cmd", quote)
                else:
                    m = IDENT.match(s, k, end)
                    j = m.end() if m else k
                return Seg("exp", i, j, s[i:j], list(range(i, j)), "sh", quote)
            if nxt in "({":
                j = _match(s, i + 1, end, nxt, ")" if nxt == "(" else "}")
                return Seg("exp", i, j, s[i:j], list(range(i, j)), "make", quote)
            if nxt:
                return Seg("exp", i, i + 2, s[i : i + 2], [i, i + 1], "make", quote)
            return None
        if nxt == "(":
            j = _match(s, i + 1, end, "(", ")")
            return Seg("exp", i, j, s[i:j], list(range(i, j)), "cmd", quote)
        if nxt == "{":
            j = _match(s, i + 1, end, "{", "}")
            return Seg("exp", i, j, s[i:j], list(range(i, j)), "sh", quote)
        m = IDENT.match(s, i + 1, end)
        if m:
            return Seg("exp", i, m.end(), s[i : m.end()], list(range(i, m.end())), "sh", quote)
        if nxt and nxt in "0123456789@*#?$!-":
            return Seg("exp", i, i + 2, s[i : i + 2], [i, i + 1], "sh", quote)
        return None

    # -- words ----------------------------------------------------------------------------
    def _word(self, i: int, end: int) -> tuple[Word, int]:
        s = self.s
        segs: list[Seg] = []
        start = i
        lit: list[str] = []
        litpos: list[int] = []
        litkind = "lit"
        e: Seg | None

        def flush(kind: str = "lit", quote: str = "") -> None:
            nonlocal lit, litpos
            if litpos:
                segs.append(Seg(kind, litpos[0], litpos[-1] + 1, "".join(lit), litpos, "", quote))
            lit, litpos = [], []

        while i < end:
            c = s[i]
            if c in " \t\n" or (c == "\r" and s.startswith("\n", i + 1)) or (self.v.fold and c in "\r\n"):
                break
            if c in ";&|()<>":
                break
            if c == "\\":
                if s.startswith("\n", i + 1):
                    i += 2
                    continue
                if s.startswith("\r\n", i + 1):
                    i += 3
                    continue
                if i + 1 < end:
                    lit.append(s[i + 1])
                    litpos.append(i + 1)
                    i += 2
                else:
                    lit.append(c)
                    litpos.append(i)
                    i += 1
                continue
            if c == "'":
                flush(litkind)
                j = s.find("'", i + 1, end)
                j = end if j < 0 else j
                segs.append(Seg("sq", i, min(j + 1, end), s[i + 1 : j], list(range(i + 1, j)), "", "'"))
                i = j + 1
                continue
            if c == '"':
                flush(litkind)
                before = len(segs)
                k = i + 1
                while k < end and s[k] != '"':
                    ch = s[k]
                    if ch == "\\" and k + 1 < end and s[k + 1] in '$`"\\\n':
                        if s[k + 1] != "\n":
                            lit.append(s[k + 1])
                            litpos.append(k + 1)
                        k += 2
                        continue
                    if self.flavor == "pyf" and ch in "{}":
                        if s.startswith(ch * 2, k):
                            lit.append(ch)
                            litpos.append(k)
                            k += 2
                            continue
                        if ch == "{":
                            flush("dq", '"')
                            e = self._pyf(k, end, '"')
                            segs.append(e)
                            k = e.end
                            continue
                    if ch in "$`" or (self.flavor == "just" and s.startswith("{{", k)):
                        e = self._exp(k, end, '"') if ch in "$`" else self._just(k, end, '"')
                        if e is not None:
                            flush("dq", '"')
                            segs.append(e)
                            k = e.end
                            continue
                    lit.append(ch)
                    litpos.append(k)
                    k += 1
                flush("dq", '"')
                if len(segs) == before:  # "" still separates and quotes
                    segs.append(Seg("dq", i, min(k + 1, end), "", [], "", '"'))
                i = k + 1
                continue
            if c in "$`":
                e = self._exp(i, end, "")
                if e is not None:
                    flush(litkind)
                    segs.append(e)
                    i = e.end
                    continue
            if self.flavor == "just" and s.startswith("{{", i):
                flush(litkind)
                e = self._just(i, end, "")
                segs.append(e)
                i = e.end
                continue
            if self.flavor == "pyf" and c in "{}":
                if s.startswith(c * 2, i):
                    lit.append(c)
                    litpos.append(i)
                    i += 2
                    continue
                if c == "{":
                    flush(litkind)
                    e = self._pyf(i, end, "")
                    segs.append(e)
                    i = e.end
                    continue
            lit.append(c)
            litpos.append(i)
            i += 1
        flush(litkind)
        return Word(start, min(i, end), segs), i

    def _pyf(self, i: int, end: int, quote: str) -> Seg:
        j = _match(self.s, i, end, "{", "}")
        return Seg("exp", i, j, self.s[i:j], list(range(i, j)), "pyf", quote)

    def _just(self, i: int, end: int, quote: str) -> Seg:
        j = self.s.find("}}", i + 2, end)
        j = end if j < 0 else j + 2
        return Seg("exp", i, j, self.s[i:j], list(range(i, j)), "just", quote)

    # -- tokens ---------------------------------------------------------------------------
    def tokens(self, start: int = 0, end: int | None = None) -> list[Tok]:
        s = self.s
        end = len(s) if end is None else end
        out: list[Tok] = []
        pending: list[str] = []
        i = start
        while i < end:
            c = s[i]
            if c in " \t" or (self.v.fold and c in "\r\n"):
                i += 1
                continue
            if c == "\\" and s.startswith("\n", i + 1):
                i += 2
                continue
            if c == "\\" and s.startswith("\r\n", i + 1):
                i += 3
                continue
            if c == "\r" and s.startswith("\n", i + 1):
                i += 1
                continue
            if c == "\n":
                out.append(Tok("nl", i, i + 1))
                i += 1
                if pending:
                    i = self._skip_heredocs(i, end, pending)
                    pending = []
                continue
            if c == "#":
                j = s.find("\n", i, end)
                i = end if j < 0 else j
                continue
            m = _REDIR.match(s, i, end)
            if m and (c in "<>&" or m.group(0)[0].isdigit()):
                op = m.group(1)
                i = m.end()
                while i < end and s[i] in " \t":
                    i += 1
                w = None
                if i < end and s[i] not in "\n;&|()":
                    w, i = self._word(i, end)
                if op in ("<<", "<<-") and w is not None:
                    pending.append(w.cooked)
                out.append(Tok("redir", m.start(), i, op, w))
                continue
            op = next((o for o in _OPS if s.startswith(o, i)), None)
            if op is not None:
                out.append(Tok("op", i, i + len(op), op))
                i += len(op)
                continue
            w, j = self._word(i, end)
            if j == i:  # defensive: never loop
                j = i + 1
            out.append(Tok("word", i, j, s[i:j], w))
            i = j
        return out

    def _skip_heredocs(self, i: int, end: int, delims: list[str]) -> int:
        s = self.s
        for d in delims:
            while i < end:
                j = s.find("\n", i, end)
                line_end = end if j < 0 else j
                line = s[i:line_end].strip()
                i = end if j < 0 else j + 1
                if line == d:
                    break
        return i


# ------------------------------------------------------------------------------------------
# Simple commands

KEYWORDS = frozenset({"if", "then", "else", "elif", "do", "while", "until", "!", "{", "}", "time", "fi", "done"})
WRAPPERS = frozenset({"exec", "command", "nohup", "builtin", "time", "nice", "timeout", "stdbuf", "env", "sudo", "doas"})
_SUDO_VALUE_OPTS = frozenset(
    {
        "-u",
        "-g",
        "-C",
        "-h",
        "-p",
        "-U",
        "-r",
        "-t",
        "-T",
        "-D",
        "--user",
        "--group",
        "--host",
        "--prompt",
        "--role",
        "--type",
        "--chdir",
        "--close-from",
        "--other-user",
    }
)


@dataclass
class Cmd:
    words: list[Word]
    assigns: list[Word]
    argv: list[Word]  # the command proper (after keywords, assignments and wrappers)
    wrappers: list[str]
    prefix_at: int  # decoded index where a prefix assignment goes
    start: int
    end: int


def commands(lexer: Lexer, start: int = 0, end: int | None = None, _depth: int = 0) -> list[Cmd]:
    toks = lexer.tokens(start, end)
    out: list[Cmd] = []
    cur: list[Word] = []

    def close() -> None:
        nonlocal cur
        if cur:
            c = _make_cmd(cur)
            if c is not None:
                out.append(c)
        cur = []

    for t in toks:
        if t.kind in ("op", "nl"):
            close()
        elif t.kind == "word" and t.word is not None:
            cur.append(t.word)
        # redirections (and their targets) are not arguments
    close()
    # command substitutions hold commands too: IMAGE=$(docker build -q …)
    if _depth < 4:
        subs: list[Cmd] = []
        for t in toks:
            words = [t.word] if t.word is not None else []
            for w in words:
                for sg in w.segs:
                    if sg.kind == "exp" and sg.flavor == "cmd" and sg.text.startswith(("$(", "$$(")) and not sg.text.startswith("$(("):
                        a = sg.start + sg.text.index("(") + 1
                        subs.extend(commands(lexer, a, max(a, sg.end - 1), _depth + 1))
        out.extend(subs)
    return out


def _make_cmd(words: list[Word]) -> Cmd | None:
    k = 0
    while k < len(words) and words[k].static and words[k].cooked in KEYWORDS:
        k += 1
    first = k
    assigns = []
    while k < len(words) and _is_assignment(words[k]):
        assigns.append(words[k])
        k += 1
    wrappers: list[str] = []
    prefix_at = words[first].start if first < len(words) else (words[-1].end if words else 0)
    while k < len(words):
        w = words[k].cooked if words[k].static else ""
        base = w.rsplit("/", 1)[-1]
        if base not in WRAPPERS:
            break
        wrappers.append(base)
        k += 1
        if base in ("sudo", "doas"):
            while k < len(words) and words[k].cooked.startswith("-"):
                opt = words[k].cooked
                k += 1
                if opt in _SUDO_VALUE_OPTS and k < len(words):
                    k += 1
            prefix_at = words[k].start if k < len(words) else prefix_at
        elif base == "env":
            while k < len(words) and (words[k].cooked.startswith("-") or _is_assignment(words[k])):
                k += 1
        elif base in ("nice", "timeout", "stdbuf"):
            while k < len(words) and words[k].cooked.startswith("-"):
                k += 1
            if base == "timeout" and k < len(words):
                k += 1
        elif base == "command":
            while k < len(words) and words[k].cooked in ("-p", "-v", "-V"):
                k += 1
    if not words:
        return None
    return Cmd(words, assigns, words[k:], wrappers, prefix_at, words[0].start, words[-1].end)


def _is_assignment(w: Word) -> bool:
    if not w.segs or w.segs[0].kind != "lit":
        return False
    return _ASSIGN.match(w.segs[0].text) is not None


# ------------------------------------------------------------------------------------------
# Scope: which shell variables are certainly exported


@dataclass
class Scope:
    assigned: set[str] = field(default_factory=set)
    exported: set[str] = field(default_factory=set)
    uncertain: bool = False  # the script sources or evals something

    def certain_env(self, name: str) -> bool:
        return name in self.exported or (name not in self.assigned and not self.uncertain)


def scope_of(cmds: list[Cmd], scope: Scope | None = None) -> Scope:
    sc = scope or Scope()
    allexport = False
    for c in cmds:
        if not c.argv and c.assigns and not c.wrappers:
            for a in c.assigns:
                m = _ASSIGN.match(a.segs[0].text)
                if m:
                    sc.assigned.add(m.group(1))
            continue
        if not c.argv:
            continue
        w0 = c.argv[0].cooked if c.argv[0].static else ""
        rest = [w.cooked for w in c.argv[1:]]
        names = [m.group(0) for r in rest if (m := IDENT.match(r)) and not r.startswith("-")]
        if w0 == "export" or (w0 in ("declare", "typeset") and any(r.startswith("-") and "x" in r for r in rest)):
            sc.exported.update(names)
        elif w0 in ("local", "declare", "typeset", "readonly", "read", "getopts", "mapfile", "readarray", "for", "select"):
            if w0 == "getopts":
                names = names[1:2]
            elif w0 in ("for", "select"):
                names = names[:1]
            sc.assigned.update(names)
        elif w0 in ("source", ".", "eval"):
            sc.uncertain = True
        elif w0 == "set" and any(r.startswith("-") and "a" in r[1:] and not r.startswith("--") for r in rest):
            allexport = True
    if allexport:
        sc.exported |= sc.assigned
    return sc


# ------------------------------------------------------------------------------------------
# docker / podman / buildah / nerdctl / kaniko build commands

BUILD_TOOLS = frozenset({"docker", "podman", "buildah", "nerdctl", "docker-buildx"})
# builders that take --build-arg but have no BuildKit secret mounts: found, never rewritten
NO_SECRETS = {
    "kaniko": "kaniko has no BuildKit secret mounts; build with BuildKit (docker buildx / buildctl) to migrate",
    "az-acr": "az acr build has no BuildKit --secret flag; build with docker buildx (or migrate the ACR task by hand)",
}
_GLOBAL_VALUE_OPTS = frozenset(
    {
        "--config",
        "-c",
        "--context",
        "-H",
        "--host",
        "-l",
        "--log-level",
        "--tlscacert",
        "--tlscert",
        "--tlskey",
        "--url",
        "--connection",
        "--root",
        "--runroot",
        "--storage-driver",
        "--storage-opt",
        "--cgroup-manager",
        "--namespace",
        "-n",
        "--address",
        "-a",
        "--identity",
        "--module",
        "--registries-conf",
        "--userns-uid-map",
        "--userns-gid-map",
        "--builder",
    }
)
BUILD_VALUE_FLAGS = frozenset(
    """-f --file -t --tag --build-arg --label --target --platform --cache-from --cache-to --secret --ssh -o
    --output --network --add-host --iidfile --metadata-file --progress --builder --build-context --attest
    --annotation --shm-size --ulimit --cgroup-parent --isolation -m --memory --memory-swap --cpu-shares
    --cpu-period --cpu-quota --cpuset-cpus --cpuset-mems --allow --call --security-opt --authfile --cert-dir
    --creds --format --jobs --os --arch --variant --manifest --runtime --signature-policy --ignorefile --uts
    --ipc --pid --volume -v --env -e --unsetenv --from --decryption-key --retry --retry-delay --timestamp
    --logfile --sign-by --cache-ttl --device --dns --dns-option --dns-search --hooks-dir --os-feature
    --os-version --rusage-logfile --source-date-epoch --unsetlabel --cgroupns --userns --userns-uid-map
    --userns-gid-map --runtime-flag --layer-label --destination -d --context -c --dockerfile
    --cache-repo --cache-dir --digest-file --image-name-with-digest-file --custom-platform --label
    --registry-mirror --snapshot-mode --tar-path --target --kaniko-dir --verbosity""".split()
)


@dataclass
class ArgOcc:
    name: str  # "" when not static
    start: int  # decoded span of the flag and its value
    end: int
    value: list[Seg] | None  # None: passthrough (--build-arg NAME)
    vstart: int  # decoded index where the value's raw text starts
    vend: int
    quote: str  # the quote the value starts inside
    word: Word


@dataclass
class BuildCmd:
    cmd: Cmd
    tool: str  # docker | podman | buildah | nerdctl | kaniko
    args: list[ArgOcc]
    file: Word | None
    context: Word | None
    secret_ids: set[str]
    buildkit_off: bool


def build_commands(cmds: list[Cmd]) -> list[BuildCmd]:
    out = []
    for c in cmds:
        bc = _build_command(c)
        if bc is not None:
            out.append(bc)
    return out


def _build_command(c: Cmd) -> BuildCmd | None:
    argv = c.argv
    if not argv or not argv[0].static:
        return None
    tool = argv[0].cooked.rsplit("/", 1)[-1]
    k = 1
    if tool in ("executor", "kaniko") or argv[0].cooked.startswith("/kaniko/"):
        return _parse_build(c, "kaniko", argv[1:])
    if tool == "az" and [w.cooked for w in argv[1:3]] == ["acr", "build"]:
        return _parse_build(c, "az-acr", argv[3:])
    if tool not in BUILD_TOOLS:
        return None
    if tool == "docker-buildx":
        tool = "docker"
        return _parse_build(c, tool, argv[2:]) if len(argv) > 1 and argv[1].cooked in ("build", "b") else None

    def skip_globals(k: int) -> int:
        while k < len(argv) and argv[k].cooked.startswith("-"):
            opt = argv[k].cooked
            k += 1
            if "=" not in opt and opt in _GLOBAL_VALUE_OPTS:
                k += 1
        return k

    k = skip_globals(k)
    if k >= len(argv):
        return None
    sub = argv[k].cooked
    if tool == "buildah":
        if sub in ("bud", "build", "build-using-dockerfile"):
            return _parse_build(c, tool, argv[k + 1 :])
        return None
    if sub == "build":
        return _parse_build(c, tool, argv[k + 1 :])
    if sub in ("buildx", "image", "builder"):
        k = skip_globals(k + 1)
        if k < len(argv) and argv[k].cooked in ("build", "b"):
            return _parse_build(c, tool, argv[k + 1 :])
    return None


def _parse_build(c: Cmd, tool: str, args: list[Word]) -> BuildCmd:
    occs: list[ArgOcc] = []
    file_w = ctx_w = None
    positional: list[Word] = []
    secret_ids: set[str] = set()
    k = 0
    while k < len(args):
        w = args[k]
        text = w.literal_prefix()
        if not text.startswith("-") or text == "-":
            positional.append(w)
            k += 1
            continue
        flag, eq, _ = text.partition("=")
        value_w: Word | None = None
        attached_at = -1
        if eq:
            attached_at = len(flag) + 1
        elif flag in BUILD_VALUE_FLAGS and k + 1 < len(args):
            value_w = args[k + 1]
        elif flag.startswith("-f") and not flag.startswith("--") and len(flag) > 2:
            attached_at = 2
            flag = "-f"
        if flag == "--build-arg":
            if value_w is not None:
                occs.append(_arg_occ(w.start, value_w.end, value_w, 0))
            elif attached_at > 0:
                occs.append(_arg_occ(w.start, w.end, w, attached_at))
        elif flag in (("--dockerfile", "-f") if tool == "kaniko" else ("-f", "--file")):
            if value_w is not None:
                file_w = value_w
            elif attached_at > 0:
                file_w = _tail_word(w, attached_at)
        elif tool == "kaniko" and flag in ("--context", "-c"):
            ctx_w = value_w if value_w is not None else (_tail_word(w, attached_at) if attached_at > 0 else None)
        elif flag == "--secret":
            sv = value_w.cooked if value_w is not None else (w.cooked[attached_at:] if attached_at > 0 else "")
            for part in sv.split(","):
                key, _, val = part.partition("=")
                if key.strip() == "id":
                    secret_ids.add(val.strip())
        if value_w is not None:
            k += 2
        else:
            k += 1
    if ctx_w is None and positional and tool != "kaniko":
        ctx_w = positional[-1]
    off = any(a.static and a.cooked in ("DOCKER_BUILDKIT=0", "DOCKER_BUILDKIT=false") for a in c.assigns)
    return BuildCmd(c, tool, occs, file_w, ctx_w, secret_ids, off)


def _tail_word(w: Word, k: int) -> Word:
    segs, vstart, _q = w.split_at(k)
    return Word(vstart, w.end, segs)


def _arg_occ(start: int, end: int, w: Word, k: int) -> ArgOcc:
    """``w`` holds ``NAME[=VALUE]`` from cooked index ``k`` on."""
    segs, vstart0, _q = w.split_at(k)
    cooked_tail = "".join(s.text for s in segs)
    # the name must be literal text up to the first '='
    name_chars: list[str] = []
    name_ok = True
    eq_at = None
    n = 0
    for s in segs:
        if s.kind == "exp":
            name_ok = False
            break
        j = s.text.find("=")
        if j >= 0:
            name_chars.append(s.text[:j])
            eq_at = n + j
            break
        name_chars.append(s.text)
        n += len(s.text)
    name = "".join(name_chars)
    if eq_at is None:
        # passthrough: NAME alone (static) or something computed
        if name_ok and IDENT.fullmatch(cooked_tail):
            return ArgOcc(cooked_tail, start, end, None, w.end, w.end, "", w)
        return ArgOcc("", start, end, None, w.end, w.end, "", w)
    if not IDENT.fullmatch(name):
        return ArgOcc("", start, end, None, w.end, w.end, "", w)
    sub = Word(vstart0, w.end, segs)
    vsegs, vstart, quote = sub.split_at(eq_at + 1)
    return ArgOcc(name, start, end, vsegs, vstart, w.end, quote, w)


# ------------------------------------------------------------------------------------------
# Values


@dataclass
class Value:
    kind: str  # passthrough | env | local | ci-secret | literal | unknown
    source: str | None = None
    simple: bool = False  # a plain reference (no operators, no default)
    certain: bool = False  # certainly exported in the environment docker runs in
    expr: str | None = None  # a GitHub ${{ }} expression (decoded text)
    empty: bool = False
    literal_default: bool = False  # ${T:-committed literal}: a fallback that may be the secret itself


@dataclass
class Host:
    """What the text around a build command means."""

    kind: str  # Invocation.kind
    flavor: str = "sh"  # lexer flavor
    scope: Scope = field(default_factory=Scope)
    groovy_env: frozenset[str] = frozenset()  # Jenkins: names bound as environment variables
    allow_prefix: bool = True  # False where a VAR=value prefix is not shell syntax (pwsh, docker.build args)
    add_env: Callable[[str, str], bool] | None = None  # GitHub run steps: add NAME: value to the step env
    add_export: Callable[[str], bool] | None = None  # Makefiles: `export X` hands make's $(X) to docker
    literal_note: Callable[[str], str] | None = None
    where: str = ""  # human name of the caller, for notes


_SH_SIMPLE = re.compile(r"\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})$")
_SH_OP = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?)([-=?+])(.*)\}$", re.S)
_MAKE_VAR = re.compile(r"\$[({]\s*([A-Za-z_][A-Za-z0-9_]*)\s*[)}]$")
_JUST_VAR = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_-]*)\s*\}\}$")
_JUST_ENV = re.compile(r"""\{\{\s*env(?:_var)?(?:_or_default)?\(\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\)\s*\}\}$""")
_GH_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}$", re.S)
_GH_CTX = re.compile(r"(secrets|env|vars)\.([A-Za-z_][A-Za-z0-9_-]*)$|(secrets|env|vars)\[\s*'([^']+)'\s*\]$")
_GROOVY = re.compile(r"\$\{?\s*(?:(env)\.)?([A-Za-z_][A-Za-z0-9_]*)\s*\}?$")
_GROOVY_ENV_IDX = re.compile(r"""\$\{\s*env\[\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\]\s*\}$""")
_PY_ENV = re.compile(
    r"""(?:os\.)?(?:environ\[\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\]|getenv\(\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\)|environ\.get\(\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\))$"""
)
_GROOVY_PARAM = re.compile(r"\$\{?\s*(params\.[A-Za-z_][A-Za-z0-9_]*)\s*\}?$")


def classify(segs: list[Seg] | None, host: Host) -> Value:
    if segs is None:
        return Value("passthrough", None, True, True)
    exps = [s for s in segs if s.kind == "exp"]
    text = [s for s in segs if s.kind != "exp" and s.text]
    if not exps:
        cooked = "".join(s.text for s in segs)
        return Value("literal", None, empty=cooked == "")
    if len(exps) != 1 or text:
        return Value("unknown")
    e = exps[0]
    raw = e.text
    if e.flavor == "sh":
        if raw.startswith("$$"):
            raw = raw[1:]
        m = _SH_SIMPLE.match(raw)
        simple = True
        name = None
        if m:
            name = m.group(1) or m.group(2)
        else:
            m2 = _SH_OP.match(raw)
            if m2:
                name = m2.group(1)
                op, rest = m2.group(3), m2.group(4)
                simple = op == "?" or (op == "-" and rest == "")
        if name is None:
            return Value("unknown")
        certain = host.scope.certain_env(name)
        kind = "local" if (name in host.scope.assigned and not certain) else "env"
        m2 = None if m else _SH_OP.match(raw)
        lit_default = False
        if m2 is not None and m2.group(3) in "-=" and m2.group(4) != "" and "$" not in m2.group(4):
            from refactor.analysis.secrets import is_placeholder

            lit_default = not is_placeholder(m2.group(4).strip("'\""))  # ${T:-none} is no secret
        return Value(kind, name, simple, certain, literal_default=lit_default)
    if e.flavor == "make":
        m = _MAKE_VAR.match(raw)
        if m:
            return Value("local", m.group(1))
        return Value("unknown")
    if e.flavor == "just":
        m = _JUST_ENV.match(raw)
        if m and "default" not in raw:
            return Value("env", m.group(1), True, True)
        m = _JUST_VAR.match(raw)
        if m:
            return Value("local", m.group(1))
        return Value("unknown")
    if e.flavor == "gh":
        m = _GH_EXPR.match(raw)
        expr = m.group(1) if m else None
        if expr is not None:
            c = _GH_CTX.match(expr)
            if c:
                ctx, name = (c.group(1), c.group(2)) if c.group(1) else (c.group(3), c.group(4))
                if ctx == "secrets":
                    return Value("ci-secret", name, True, False, raw)
                if ctx == "env":
                    return Value("env", name, True, True, raw)
                return Value("unknown", f"vars.{name}", False, False, raw)
        return Value("unknown", None, False, False, raw)
    if e.flavor == "pyf":
        inner = raw[1:-1].strip()
        m = _PY_ENV.match(inner)
        if m:
            return Value("env", next(g for g in m.groups() if g), True, True, inner)
        if re.fullmatch(r"[A-Za-z_][\w.]*(?:\[[^\]]*\])?", inner):
            return Value("local", inner if IDENT.fullmatch(inner) else None, False, False, inner)
        return Value("unknown")
    if e.flavor == "groovy":
        m = _GROOVY_ENV_IDX.match(raw)
        if m:
            return Value("env", m.group(1), True, True)
        m = _GROOVY.match(raw)
        if m:
            name = m.group(2)
            if m.group(1) or name in host.groovy_env:
                return Value("env", name, True, True)
            return Value("local", name)
        m = _GROOVY_PARAM.match(raw)
        if m:
            return Value("local", m.group(1))
        return Value("unknown")
    return Value("unknown")


# ------------------------------------------------------------------------------------------
# Invocation summary and planning


def arg_uses(view: View, bc: BuildCmd, host: Host) -> tuple[BuildArgUse, ...]:
    out = []
    for a in bc.args:
        v = classify(a.value, host)
        out.append(BuildArgUse(a.name, v.kind, v.source, view.src(a.start), view.src(a.end)))
    return tuple(out)


def resolve_word(w: Word | None, subst: dict[str, str], wild: bool = False) -> str | None:
    """The cooked text of a word whose expansions are all known (``subst`` maps raw → value);
    with ``wild``, an unknown expansion becomes ``*`` (a glob pattern)."""
    if w is None:
        return None
    out = []
    for s in w.segs:
        if s.kind == "exp":
            key = re.sub(r"\s+", "", s.text)
            if key not in subst:
                if not wild:
                    return None
                out.append("*")
                continue
            out.append(subst[key])
        else:
            out.append(s.text)
    return "".join(out)


def resolve_paths(bc: BuildCmd, bases: list[str], subst: dict[str, str] | None = None) -> tuple[str | None, str | None]:
    """(dockerfile, context) as realpaths; the first base directory where the Dockerfile exists wins."""
    subst = subst or {}
    ctx = resolve_word(bc.context, subst)
    if bc.tool == "kaniko" and ctx is not None:
        ctx = re.sub(r"^dir://", "", ctx)
    if ctx is None or ctx == "-" or re.match(r"^[a-z][a-z0-9+.-]*://|^git@|^github\.com/", ctx):
        ctx = None
    fil = resolve_word(bc.file, subst) if bc.file is not None else None
    if bc.file is not None and (fil is None or fil == "-"):
        return None, _first(bases, ctx)
    if ctx is None and fil is None:
        return None, None
    candidates: list[tuple[str | None, str | None]] = []
    f: str | None
    for b in bases:
        c = os.path.join(b, ctx) if ctx is not None else None
        if fil is not None:
            if bc.tool == "kaniko" and c is not None and not os.path.isabs(fil):
                # kaniko takes --dockerfile as given when that file exists, else inside the context
                candidates.append((os.path.join(b, fil), c))
                f = os.path.join(c, fil)
            else:
                f = os.path.join(b, fil)
        else:
            f = os.path.join(c, "Dockerfile") if c is not None else None
        candidates.append((f, c))
    for f, c in candidates:
        if f is not None and os.path.isfile(f):
            return os.path.realpath(f), os.path.realpath(c) if c is not None else None
    f, c = candidates[0] if candidates else (None, None)
    return (os.path.realpath(f) if f else None), (os.path.realpath(c) if c else None)


def resolve_pattern(bc: BuildCmd, bases: list[str], subst: dict[str, str] | None = None) -> list[tuple[str, str | None]]:
    """Link by pattern: unknown expansions in ``-f``/context become ``*``; every existing
    Dockerfile the pattern matches, with its context. The pattern's file name must be literal."""
    import glob

    subst = subst or {}
    ctx = resolve_word(bc.context, subst, wild=True)
    fil = resolve_word(bc.file, subst, wild=True) if bc.file is not None else None
    if ctx is None or ctx == "-" or (fil is not None and fil in ("-", "*")) or bc.tool in NO_SECRETS:
        return []
    pat_f = fil if fil is not None else os.path.join(ctx, "Dockerfile")
    if "*" not in pat_f or "*" in os.path.basename(pat_f) or pat_f.strip("*/.") == "":
        return []
    out: list[tuple[str, str | None]] = []
    for b in bases:
        for f in sorted(glob.glob(os.path.join(b, pat_f))):
            if not os.path.isfile(f):
                continue
            rf = os.path.realpath(f)
            c = None
            for cand in glob.glob(os.path.join(b, ctx)) if "*" in ctx else [os.path.join(b, ctx)]:
                rc = os.path.realpath(cand)
                if (fil is None and os.path.dirname(rf) == rc) or (fil is not None and rf.startswith(rc + os.sep)):
                    c = rc
                    break
            if (rf, c) not in out:
                out.append((rf, c))
        if out:
            break
    return out


def _first(bases: list[str], ctx: str | None) -> str | None:
    if ctx is None or not bases:
        return None
    return os.path.realpath(os.path.join(bases[0], ctx))


def plan_build(
    view: View,
    text: str,
    bc: BuildCmd,
    migrated: dict[str, SecretSpec],
    host: Host,
    plan: CallerPlan,
) -> None:
    """Rewrite the migrated build args of one build command (edits are added to ``plan``)."""
    where = host.where or "caller"
    todo = [a for a in bc.args if a.name in migrated]
    for a in bc.args:
        if a.name == "" and migrated:
            plan.add_note(
                f"{where}: a build arg is computed at run time ({view.text[a.start : a.end].split()[0]} …); "
                f"check that it does not pass {', '.join(sorted(migrated))}"
            )
    if not todo:
        return
    if bc.tool in NO_SECRETS:
        plan.add_unmigratable(f"{where}: passes {', '.join(sorted({a.name for a in todo}))} as a build arg; {NO_SECRETS[bc.tool]}")
        return
    if bc.buildkit_off:
        plan.add_unmigratable(f"{where}: DOCKER_BUILDKIT=0 disables BuildKit, and --secret needs it")
        return
    sudo = any(w in ("sudo", "doas") for w in bc.cmd.wrappers)
    prefixes: list[str] = []
    edits: list[Edit] = []
    done_ids = set(bc.secret_ids)
    # docker keeps the last of repeated --build-arg NAME=…: that value is the one to carry over
    effective = {a.name: a for a in todo}
    for a in todo:
        spec = migrated[a.name]
        if spec is None:  # the ARG is gone and nothing reads it: the build arg just goes
            edits.append(_delete(view, text, a))
            if classify(a.value, host).kind == "literal" and not classify(a.value, host).empty:
                plan.add_rotate(a.name)
                plan.add_note(f"{where}: the committed value of {a.name} was removed (it must be rotated)")
            continue
        if spec.id in done_ids:
            edits.append(_delete(view, text, a))
            continue
        done_ids.add(spec.id)
        eff = effective[a.name]
        v = classify(eff.value, host)
        env_name = a.name
        prefix = None
        if v.kind == "passthrough":
            pass
        elif v.kind == "literal":
            if not v.empty:
                plan.add_rotate(a.name)
                plan.add_note(
                    f"{where}: the committed value of {a.name} was removed (it must be rotated); "
                    + (host.literal_note(a.name) if host.literal_note else f"export {a.name} before this build runs")
                )
            if host.kind == "github" and host.add_env is not None:
                host.add_env(a.name, "${{ secrets." + a.name + " }}")
        elif v.literal_default:
            plan.add_unmigratable(
                f"{where}: the value of {a.name} falls back to a committed literal (${{{v.source}:-…}}); remove the"
                " fallback (rotate it if it is a real credential) and migrate"
            )
            continue
        elif v.kind == "env" and v.certain and v.simple and v.source and not sudo:
            env_name = v.source
        elif v.expr is not None and host.add_env is not None and host.add_env(a.name, v.expr):
            pass
        elif (
            host.flavor == "make"
            and v.kind == "local"
            and v.source
            and IDENT.fullmatch(v.source)
            and not sudo
            and host.add_export is not None
            and host.add_export(v.source)
        ):
            env_name = v.source  # make echoes a prefix NAME="$(X)" expanded: the value would be in the log
        else:
            prefix = _prefix(view, text, eff)
            if host.kind == "jenkins" and v.kind == "local":
                plan.add_note(
                    f"{where}: {a.name} comes from the Groovy variable {v.source or 'expression'} and is still interpolated into "
                    "the command; binding it with withCredentials or withEnv keeps it out of the command line"
                )
        flag = f"--secret id={spec.id},env={env_name}" if spec.type == "env" else f"--secret {spec.cli()}"
        edits.append(Edit(view.src(a.start), view.src(a.end), view.encode(flag)))
        if prefix is not None:
            prefixes.append(prefix)
    if prefixes and not host.allow_prefix:
        plan.add_unmigratable(
            f"{where}: {', '.join(a.name for a in todo)} must be put in the environment of the build "
            "(this caller cannot take a VAR=value prefix)"
        )
        return
    if prefixes:
        at = view.src(bc.cmd.prefix_at)
        edits.append(Edit(at, at, " ".join(prefixes) + " "))
        if sudo:
            plan.add_note(f"{where}: sudo may refuse VAR=value without SETENV in sudoers; use sudo --preserve-env=… if so")
    elif sudo:
        plan.add_note(f"{where}: sudo resets the environment; run it with sudo --preserve-env so docker sees the secret variables")
    plan.edits.extend(edits)


def _prefix(view: View, text: str, a: ArgOcc) -> str:
    """``NAME=<value's own source text>`` in host syntax."""
    raw_dec = view.text[a.vstart : a.vend]
    raw_src = text[view.src(a.vstart) : view.src(a.vend)] if a.vend > a.vstart else ""
    q = a.quote
    if q:
        val = view.encode(q) + raw_src
    elif raw_dec and not any(ch in raw_dec for ch in "\"'\\"):
        val = view.encode('"') + raw_src + view.encode('"')
    else:
        val = raw_src
    return view.encode(f"{a.name}=") + val


def _delete(view: View, text: str, a: ArgOcc) -> Edit:
    s, e = view.src(a.start), view.src(a.end)
    ls = text.rfind("\n", 0, s) + 1
    le = text.find("\n", e)
    le = len(text) if le < 0 else le
    before = text[ls:s]
    after = text[e:le].rstrip("\r")
    if before.strip() == "" and after.strip() in ("", "\\") and le < len(text):
        return Edit(ls, le + 1, "")
    k = s
    while k > 0 and text[k - 1] in " \t":
        k -= 1
    return Edit(k, e, "")
