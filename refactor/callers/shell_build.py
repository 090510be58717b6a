"""Build commands among simple commands, and the Dockerfile and context they name.

Recognises docker / podman / buildah / nerdctl / kaniko (and ``az acr build``) build command
lines, parses their ``--build-arg`` occurrences (with exact decoded spans), ``-f``/context and
existing ``--secret`` ids, and resolves the Dockerfile and context paths, exactly or (for unknown
expansions) as a glob pattern.
"""

from __future__ import annotations

import os
import re

from refactor.records import dataclass

from .shell_cmds import Cmd
from .shell_words import IDENT, Seg, Word

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
