"""Writes of files that outlive a RUN: :class:`FileWrite` records for redirections, in-place edits and
tool config writes (:data:`CONFIG_FILES`), whether a later statement of the same script undoes them
(:func:`undone_after`), the script's top-level :class:`Statement` list, and what blocks appending to
a script (:func:`append_blocker`).
"""

from __future__ import annotations

from refactor.analysis.shell_parse import _text, _word_value, shell_tree
from refactor.codecache import regex
from refactor.memo import per_file
from refactor.records import dataclass

# --------------------------------------------------------------------------------------------
# Writes of files that outlive the RUN (credential files in layers)


@dataclass(frozen=True)
class FileWrite:
    start: int  # character offsets of the writing statement in the script
    end: int
    path: str  # the file as the script names it (~/.npmrc)
    refs: frozenset[str]  # variables the statement expands
    cleanup: str | None  # a command that undoes the write, or None when dfix knows none
    kind: str  # redirect | append | tee | config
    text: str = ""


CONFIG_FILES = {
    "npm": "~/.npmrc",
    "yarn": "~/.npmrc",
    "pnpm": "~/.npmrc",
    "git": "~/.gitconfig",
    "pip": "~/.config/pip/pip.conf",
    "pip3": "~/.config/pip/pip.conf",
    "poetry": "~/.config/pypoetry/auth.toml",
    "aws": "~/.aws/credentials",
    "docker": "~/.docker/config.json",
    "huggingface-cli": "~/.cache/huggingface/token",
}


def _char_offsets(data: bytes):
    """Map byte offsets of tree-sitter nodes to character offsets."""
    if len(data) == len(data.decode("utf-8", "surrogatepass")):
        return lambda b: b
    cache: dict[int, int] = {}

    def conv(b: int) -> int:
        if b not in cache:
            cache[b] = len(data[:b].decode("utf-8", "surrogatepass"))
        return cache[b]

    return conv


def _subtree_refs(node) -> frozenset[str]:
    out = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type in ("simple_expansion", "expansion"):
            for c in n.children:
                if c.type == "variable_name":
                    out.add(_text(c))
                    break
        stack.extend(n.children)
    return frozenset(out)


def _inplace_writes(argv: list[str]) -> list[tuple[str, str]]:
    """Files a command rewrites in place or creates from its arguments, with a value from them:
    ``sed -i``/``perl -pi`` (kind ``inplace``), ``htpasswd FILE user pass`` (kind ``derived``: a hash
    of the value, which the image keeps for its run time)."""
    if not argv:
        return []
    tool, words = argv[0], argv[1:]
    inplace = any(
        w == "--in-place" or w.startswith("--in-place=") or (w.startswith("-") and not w.startswith("--") and "i" in w[1:]) for w in words
    )
    if tool in ("sed", "gsed") and inplace:
        files: list[str] = []
        script_given = any(w in ("-e", "-f", "--expression", "--file") or w.startswith(("--expression=", "--file=")) for w in words)
        skip_next = False
        for w in words:
            if skip_next:
                skip_next = False
                continue
            if w in ("-e", "-f", "--expression", "--file"):
                skip_next = True
                continue
            if w.startswith("-"):
                continue
            if not script_given:
                script_given = True  # the first operand is the script
                continue
            files.append(w)
        return [(f, "inplace") for f in files]
    if tool == "perl" and any(w.startswith("-") and "i" in w and "p" in w for w in words):
        ops = [w for w in words if not w.startswith("-")]
        return [(f, "inplace") for f in ops[1:]]
    if tool == "htpasswd":
        flags = "".join(w[1:] for w in words if w.startswith("-") and not w.startswith("--"))
        ops = [w for w in words if not w.startswith("-")]
        if "n" in flags or not ops:
            return []  # -n: to stdout
        return [(ops[0], "derived")]
    return []


def _config_write(argv: list[str], raw_args: list[str]) -> tuple[str, str | None] | None:
    """(file, cleanup) for ``tool config set``-style commands that persist a value."""
    if not argv:
        return None
    tool = argv[0]
    words = argv[1:]
    raws = raw_args
    if tool in ("npm", "yarn", "pnpm") and words[:2] == ["config", "set"] and len(words) >= 3:
        key = raws[2].split("=", 1)[0] if "=" in words[2] and len(words) == 3 else raws[2]
        # npm (11) also keeps each command's arguments, the value too, in a debug log under ~/.npm/_logs
        logs = " && rm -rf ~/.npm/_logs" if tool == "npm" else ""
        return CONFIG_FILES[tool], f"{tool} config delete {key}{logs}"
    if tool == "git" and words and words[0] == "config":
        scope = [w for w in words[1:] if w in ("--global", "--system")]
        rest = [r for w, r in zip(words[1:], raws[1:]) if not w.startswith("--")]
        if scope and len(rest) >= 2:
            where = "/etc/gitconfig" if scope[0] == "--system" else "~/.gitconfig"
            key = rest[0]
            if "$" in key and "." in key:
                # the secret is in the subsection name (url."https://${T}@host/".insteadOf): unsetting
                # the key would leave the section header, token included; remove the section
                section = key.rsplit(".", 1)[0]
                return where, f"git config {scope[0]} --remove-section {section}"
            return where, f"git config {scope[0]} --unset-all {key}"
        return None
    if tool in ("pip", "pip3") and words[:2] == ["config", "set"] and len(words) >= 4:
        return CONFIG_FILES[tool], f"{tool} config unset {raws[2]}"
    if tool == "poetry" and words[:1] == ["config"] and len(words) >= 3 and words[1].startswith(("http-basic.", "pypi-token.")):
        return CONFIG_FILES[tool], f"poetry config --unset {raws[1]}"
    if tool == "aws" and words[:2] == ["configure", "set"]:
        return CONFIG_FILES[tool], None
    if tool == "docker" and words[:1] == ["login"]:
        host = next((r for w, r in zip(words[1:], raws[1:]) if not w.startswith("-") and "." in w), "")
        return CONFIG_FILES[tool], ("docker logout " + host).strip()
    if tool == "huggingface-cli" and words[:1] == ["login"]:
        return CONFIG_FILES[tool], "huggingface-cli logout"
    return None


@dataclass
class _Item:
    start: int  # byte offsets
    end: int
    cmd: object  # the command (or compound) node
    redirects: list


def _flatten(node, out: list, ops: list) -> None:
    """Top-level statements with their redirects. tree-sitter-bash 0.25 parses ``a && b > f`` as
    ``(a && b) > f``; bash applies the redirect to ``b`` only, and so do we. Iterative: a
    thousand-command ``&&`` chain nests a thousand levels deep."""
    # work items: ("node", n) to expand, ("emit-last", n, redirects) to re-attach a redirect
    stack: list = [("node", node, None)]
    while stack:
        kind, n, extra = stack.pop()
        if kind == "attach":
            last = out.pop()
            out.append(_Item(last.start, n.end_byte, last.cmd, last.redirects + extra))
            continue
        t = n.type
        if t == "list":
            for c in reversed(n.children):
                if c.type in ("&&", ";", "||", "&", "|&", "\n"):
                    stack.append(("op", c, None))
                else:
                    stack.append(("node", c, None))
        elif kind == "op":
            ops.append(t)
        elif t == "redirected_statement":
            body = n.children[0] if n.children else None
            redirects = [c for c in n.children[1:] if c.type in ("file_redirect", "heredoc_redirect", "herestring_redirect")]
            if body is not None and body.type == "list":
                stack.append(("attach", n, redirects))
                stack.append(("node", body, None))
            else:
                out.append(_Item(n.start_byte, n.end_byte, body if body is not None else n, redirects))
        else:
            out.append(_Item(n.start_byte, n.end_byte, n, []))


def _items(root) -> tuple[list, list]:
    out: list = []
    ops: list = []
    for c in root.children:
        if c.type in (";", "&&", "||", "&", "\n"):
            ops.append(c.type)
        elif c.type != "comment":
            _flatten(c, out, ops)
    return out, ops


def _redirect_target(r) -> tuple[str | None, str]:
    op = next((x for x in r.children if x.type in (">", ">>", ">|", "&>", "&>>")), None)
    dest = [x for x in r.children if x.type not in (">", ">>", ">|", "&>", "&>>", "file_descriptor", "<", "<&", ">&")]
    if op is None or not dest:
        return None, ""
    return _word_value(dest[-1]), ("append" if op.type in (">>", "&>>") else "redirect")


# a write needs a redirect or one of these programs (_inplace_writes, _config_write, tee): a text
# naming none has none, and is not parsed for them
_WRITE_HINTS = (">", "tee", "sed", "perl", "htpasswd", "config", "login")


@per_file()
def file_writes(script: str) -> tuple[FileWrite, ...]:
    if not any(h in script for h in _WRITE_HINTS):
        return ()
    tree = shell_tree(script)
    if tree is None:  # too pathological to parse: no write dfix could plan a fix around
        return ()
    conv = _char_offsets(script.encode("utf-8", "surrogatepass"))
    out: list[FileWrite] = []
    # (node, its parent's type): Node.parent walks down from the root, so asking it of every node
    # of a 2,000-command && chain (nested 2,000 deep) is quadratic
    stack: list = [(tree.root_node, None)]
    piped_to: dict[int, int] = {}  # a pipeline's start -> the end of the redirects written after it
    while stack:
        node, parent_type = stack.pop()
        t = node.type
        if t == "program":
            items, _ops = _items(node)
            for it in items:
                for r in it.redirects:
                    if r.type != "file_redirect":
                        continue
                    path, kind = _redirect_target(r)
                    if not path or path in ("/dev/null", "/dev/stderr", "/dev/stdout"):
                        continue
                    s0, e0 = conv(it.start), conv(it.end)
                    refs = _subtree_refs(it.cmd) | frozenset().union(*[_subtree_refs(x) for x in it.redirects])
                    if "envsubst" in script[conv(it.start) : conv(it.end)]:
                        refs |= {"*"}  # envsubst writes every exported variable it finds in its input
                    out.append(FileWrite(s0, e0, path, refs, f"rm -f {path}", kind, script[s0:e0]))
        if t == "redirected_statement":
            body0 = node.child_by_field_name("body")
            if body0 is not None and body0.type == "pipeline":  # `a | tee f > /dev/null`: the redirect is tee's
                piped_to[body0.start_byte] = node.end_byte
            # handled through the flattened items (also inside if/for bodies below)
            if parent_type is not None and parent_type not in ("program", "list", "redirected_statement"):
                body = node.children[0] if node.children else None
                for r in node.children[1:]:
                    if r.type == "file_redirect":
                        path, kind = _redirect_target(r)
                        if path and path not in ("/dev/null", "/dev/stderr", "/dev/stdout"):
                            s0, e0 = conv(node.start_byte), conv(node.end_byte)
                            out.append(FileWrite(s0, e0, path, _subtree_refs(node), f"rm -f {path}", kind, script[s0:e0]))
                del body
            stack.extend((c, t) for c in reversed(node.children))
            continue
        if t == "pipeline":
            cmds = [c for c in node.children if c.type == "command"]
            for c in cmds[1:]:
                argv = [_word_value(w) for w in c.children if w.type != "command_name"]
                name = next((x for x in c.children if x.type == "command_name"), None)
                if name is not None and _word_value(name.children[0] if name.children else name) == "tee":
                    files = [a for a in argv if not a.startswith("-")]
                    s, e = conv(node.start_byte), conv(piped_to.get(node.start_byte, node.end_byte))
                    for f in files:
                        kind = "append" if "-a" in argv or "--append" in argv else "tee"
                        out.append(FileWrite(s, e, f, _subtree_refs(node), f"rm -f {f}", kind, script[s:e]))
        if t == "command":
            name = next((x for x in node.children if x.type == "command_name"), None)
            if name is not None:
                words = [w for w in node.children if w.type not in ("command_name", "variable_assignment", "file_redirect")]
                argv = [_word_value(name.children[0] if name.children else name).rsplit("/", 1)[-1]] + [_word_value(w) for w in words]
                raws = [_text(w) for w in words]
                for path, kind in _inplace_writes(argv):
                    s, e = conv(node.start_byte), conv(node.end_byte)
                    out.append(FileWrite(s, e, path, _subtree_refs(node), None, kind, script[s:e]))
                cw = _config_write(argv, raws)
                if cw is not None:
                    # `echo "$P" | docker login --password-stdin`: the value comes through the pipe
                    stmt = node.parent if parent_type == "pipeline" else node
                    s, e = conv(stmt.start_byte), conv(stmt.end_byte)
                    out.append(FileWrite(s, e, cw[0], _subtree_refs(stmt), cw[1], "config", script[s:e]))
        stack.extend((c, t) for c in reversed(node.children))
    return tuple(sorted(out, key=lambda w: w.start))


_REMOVAL = regex(r"(?:^|[\s;&|(])(?:rm|shred|unlink)\s+([^;&|\n]*)")
_UNDO_CONFIG = regex(r"config\s+(?:delete|--unset|--unset-all|unset)\b|\blogout\b")


@per_file()  # per script, for the file being analysed (an lru of 64 thrashed on big files)
def _removals(script: str) -> dict[str, list[int]]:
    """File name -> where, in ``script``, an rm/shred/unlink naming it (or naming the path itself)
    starts, ascending; once per script, so a RUN of 2,000 writes is not rescanned per write."""
    out: dict[str, list[int]] = {}
    for m in _REMOVAL.finditer(script):
        for a in m.group(1).split():
            a = a.strip("'\"")
            for key in {a.rstrip("/").rsplit("/", 1)[-1] if not a.startswith("-") else None, "\0" + a}:
                if key is not None:
                    out.setdefault(key, []).append(m.start())
    return out


def undone_after(script: str, write: FileWrite) -> bool:
    """Does the same script remove the file (or undo the config) after ``write``?"""
    if write.cleanup and script.find(write.cleanup, write.end) >= 0:
        return True
    base = write.path.rstrip("/").rsplit("/", 1)[-1]
    index = _removals(script)
    for key in (base, "\0" + write.path):
        at = index.get(key)
        if at and at[-1] >= write.end:
            return True
    if write.end and script.startswith(("rm", "shred", "unlink"), write.end):  # the scan of the rest would match there
        return _undone_in(script[write.end :], write)
    return write.kind == "config" and _UNDO_CONFIG.search(script, write.end) is not None


def _undone_in(rest: str, write: FileWrite) -> bool:
    base = write.path.rstrip("/").rsplit("/", 1)[-1]
    for m in _REMOVAL.finditer(rest):
        for a in m.group(1).split():
            a = a.strip("'\"")
            if a == write.path or (a.rstrip("/").rsplit("/", 1)[-1] == base and not a.startswith("-")):
                return True
    return write.kind == "config" and _UNDO_CONFIG.search(rest) is not None


@dataclass(frozen=True)
class Statement:
    start: int  # character offsets in the script
    end: int
    text: str
    refs: frozenset[str]
    argv: tuple[str, ...]
    writes: tuple[str, ...]  # files it redirects into


def statements(script: str) -> tuple[tuple[Statement, ...], bool]:
    """The script's top-level statements, and whether they are joined only by ``&&``/``;``/newlines
    (so one can be removed without changing how the others run)."""
    tree = shell_tree(script)
    if tree is None or tree.root_node.has_error:
        return (), False
    conv = _char_offsets(script.encode("utf-8", "surrogatepass"))
    root = tree.root_node
    items, ops = _items(root)
    simple = all(o in ("&&", ";", "\n") for o in ops)
    out = []
    for it in items:
        s_, e_ = conv(it.start), conv(it.end)
        cmd = it.cmd
        writes = [p for p, _k in (_redirect_target(r) for r in it.redirects if r.type == "file_redirect") if p]
        argv: tuple[str, ...] = ()
        if cmd.type == "command":
            name = next((x for x in cmd.children if x.type == "command_name"), None)
            if name is not None:
                words = [w for w in cmd.children if w.type not in ("command_name", "variable_assignment", "file_redirect")]
                argv = (_word_value(name.children[0] if name.children else name).rsplit("/", 1)[-1], *(_word_value(w) for w in words))
        refs = _subtree_refs(cmd).union(*[_subtree_refs(r) for r in it.redirects])
        out.append(Statement(s_, e_, script[s_:e_], refs, argv, tuple(writes)))
    return tuple(out), simple


def append_blocker(script: str) -> str | None:
    """Why ``script && CMD`` would not run CMD after the whole script (or not parse), else None:
    a trailing comment swallows it, a trailing ``;`` or ``&`` makes ``; &&`` a syntax error, an
    ``exit`` ends the shell first, or the text does not parse."""
    text = script.rstrip()
    if not text:
        return "the RUN has no command to extend"
    tree = shell_tree(text)
    if tree is None:
        return "the RUN's shell text is too convoluted for dfix to parse"
    root = tree.root_node
    if root.has_error:
        return "the RUN's shell text does not parse"
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "comment" and node.end_byte >= len(text.encode("utf-8", "surrogatepass")):
            return "the RUN ends with a shell comment, which would swallow an appended command"
        if node.type == "command":
            name = next((c for c in node.children if c.type == "command_name"), None)
            if name is not None and _text(name) in ("exit", "return", "exec"):
                return f"the RUN calls {_text(name)}, so an appended command may never run"
        stack.extend(node.children)
    if text.endswith(("&", ";", "|")) and not text.endswith(("&&", "||", ";;")):
        return "the RUN ends with ';', '&' or '|', where an appended '&& …' is a syntax error"
    return None
