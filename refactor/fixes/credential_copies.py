"""Credential files copied from the build context (DF008): mount them as secret files instead."""

from __future__ import annotations

import os
import posixpath
import re

from refactor import buildcontext
from refactor.analysis.credfiles import (
    CRED_FILES,
    NAMED_CRED_KINDS,
    SSH_KEYS,
    cred_kind,
    is_credential_file,
    private_key_file,
)
from refactor.analysis.facts import Facts
from refactor.analysis.workdir import user_set, workdir_at
from refactor.buildspec import SecretSpec
from refactor.fixes.edit import Applicability, Edit, Fix
from refactor.fixes.edits import render_plan_edits
from refactor.fixes.layer_files import needs_file
from refactor.fixes.plan import Finding, Options, SecretPlan, secret_id
from refactor.syntax.dockerfile import Instruction


def plan_credential_copies(facts: Facts, options: Options, taken_ids: set[str], findings: list[Finding]) -> list[SecretPlan]:
    from refactor.analysis.secrets import Verdict

    df = facts.df
    ctx = options.context_dir
    plans: list[SecretPlan] = []
    for idx, ins in enumerate(df.instructions):
        cmd = ins.effective
        if cmd.cmd not in ("copy", "add") or ins.heredocs or any(f.name == "from" for f in cmd.flags):
            continue
        from refactor.syntax.words import parse_words, unquote

        if cmd.args.startswith("["):
            continue
        words = parse_words(cmd.args, df.escape)
        if len(words) < 2:
            continue
        srcs, dest = words[:-1], unquote(words[-1].raw, df.escape)
        for w in srcs:
            src = unquote(w.raw, df.escape)
            if "://" in src:
                continue
            if "$" in src:
                m = re.fullmatch(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", src)
                if m and re.search(r"(?i)(?:^|_)(?:PRIVATE_?KEY|SSH_?KEY|ID_RSA|ID_ED25519)(?:_|$)", m.group(1)):
                    fix = Fix(f"Mount the key instead of copying ${m.group(1)}", [], Applicability.DISPLAY_ONLY)
                    fix.reasons.append(
                        f"the file ${m.group(1)} names is a private key: mount it where a RUN needs it (--mount=type=secret,id=…,target=…) or provide it at run time"
                    )
                    findings.append(
                        Finding(
                            "DF008",
                            src,
                            f"{cmd.keyword.upper()} copies the private key named by ${m.group(1)} into the image",
                            ins.command.kw_start,
                            ins.logical_end,
                            fix,
                        )
                    )
                continue
            src_base = src.rstrip("/").rsplit("/", 1)[-1]
            public = src_base.endswith(".pub") or src_base in ("known_hosts", "authorized_keys", "authorized_keys2", "config")
            if src_base == ".ssh" or (posixpath.normpath(dest).endswith("/.ssh") and not public):
                found = ctx and _context_credentials(os.path.realpath(ctx), posixpath.normpath("/" + src).lstrip("/"))
                if not found:  # the context cannot be read (or holds no key yet): the name is the evidence
                    fix = Fix(f"Use RUN --mount=type=ssh instead of copying {src}", [], Applicability.DISPLAY_ONLY)
                    fix.reasons.append(
                        "an .ssh directory holds private keys: use `RUN --mount=type=ssh` and build with `--ssh default`; keep known_hosts with ssh-keyscan"
                    )
                    findings.append(
                        Finding(
                            "DF008",
                            src,
                            f"{cmd.keyword.upper()} copies the SSH directory {src} into {dest}",
                            ins.command.kw_start,
                            ins.logical_end,
                            fix,
                        )
                    )
                    continue
            if src in (".", "./") or src.endswith("/") or (ctx and buildcontext.is_dir(buildcontext.inside(ctx, src))):
                _check_directory_copy(facts, ins, idx, src, ctx, findings)
                continue
            kind = cred_kind(src) or ("key_file" if private_key_file(src) else None)
            if kind is None:
                continue
            base = src.rstrip("/").rsplit("/", 1)[-1]
            verdict_known = is_credential_file(buildcontext.inside(ctx, src), base) if ctx else None
            if verdict_known is False:
                continue
            if verdict_known is None and kind in (
                "npmrc",
                "yarnrc",
                "maven_settings",
                "pip_conf",
                "composer_auth",
                "docker_config",
                "key_file",
            ):
                continue  # cannot tell a template from a credential without the file
            if ctx and buildcontext.dockerignored(ctx, src):
                continue
            start, end = ins.command.kw_start, ins.logical_end
            if kind in NAMED_CRED_KINDS - {"dotenv"} or kind == "key_file":
                what = {
                    "password_file": "a password file",
                    "service_account": "a service-account or OAuth client key",
                    "kubeconfig": "a kubeconfig with cluster credentials",
                    "pgpass": "a PostgreSQL password file",
                    "mycnf": "a MySQL client config with a password",
                    "pkcs12": "a PKCS#12 bundle (private key and certificate)",
                    "key_file": "a private key",
                }[kind]
                unread = " (not readable in the context now: its name is the evidence)" if verdict_known is None else ""
                fix = Fix(f"Mount {src} where it is needed instead of copying it", [], Applicability.DISPLAY_ONLY)
                fix.reasons.append(
                    f"{src} is {what}: remove the {cmd.keyword.upper()}, add it to .dockerignore, mount it in the RUNs that need it"
                    " (`--mount=type=secret,id=…,target=…`) and give it to the container at run time (a volume or an orchestrator secret)"
                )
                findings.append(
                    Finding("DF008", src, f"{cmd.keyword.upper()} copies {src}, {what}{unread}, into the image", start, end, fix)
                )
                continue
            if kind == "dotenv":
                if verdict_known is None:
                    notes_unread = " (not readable in the context now: its name is the evidence)"
                else:
                    notes_unread = ""
                fix = Fix(f"Pass the values in {src} at run time instead of copying the file", [], Applicability.DISPLAY_ONLY)
                fix.reasons.append(
                    f"{src} is usually read by the application at run time: remove the COPY, add {src} to .dockerignore and use `docker run --env-file {src}` (or your orchestrator's secrets)"
                )
                findings.append(
                    Finding(
                        "DF008",
                        src,
                        f"{cmd.keyword.upper()} copies {src}, which holds credentials{notes_unread}, into the image",
                        ins.command.kw_start,
                        ins.logical_end,
                        fix,
                    )
                )
                continue
            if kind == "ssh":
                fix = Fix(f"Use RUN --mount=type=ssh instead of copying {src}", [], Applicability.DISPLAY_ONLY)
                fix.reasons.append(
                    "replace the key copy with `RUN --mount=type=ssh <git/ssh command>` (keep your ssh-keyscan/known_hosts step) and build with `docker build --ssh default`"
                )
                findings.append(
                    Finding("DF008", src, f"{cmd.keyword.upper()} copies the SSH private key {src} into the image", start, end, fix)
                )
                continue
            sid = secret_id(kind, taken_ids)
            fix = Fix(f"Mount {src} as a secret file (id={sid}) instead of copying it", [])
            plan = SecretPlan(src, sid, Verdict(True, 4.0, (), False), fix)
            findings.append(
                Finding(
                    "DF008",
                    src,
                    f"{cmd.keyword.upper()} copies the credential file {src} into the image layer; add it to .dockerignore",
                    start,
                    end,
                    fix,
                )
            )
            wd = workdir_at(facts, idx)
            if "$" in dest or wd is None:
                fix.lower(Applicability.DISPLAY_ONLY, f"the destination of {src} uses variables")
            elif dest.endswith("/") or dest in (".", "./") or len(srcs) > 1:
                target = os.path.normpath(os.path.join(wd, dest, base))
            elif dest.rstrip("/").rsplit("/", 1)[-1] == base:
                target = os.path.normpath(os.path.join(wd, dest))
            else:
                target = None
                fix.lower(Applicability.DISPLAY_ONLY, f"cannot tell whether {dest} is a directory")
            if any(f.name in ("chown", "chmod") for f in cmd.flags) or user_set(facts, idx):
                fix.lower(
                    Applicability.DISPLAY_ONLY,
                    "the file is copied with --chown/--chmod or read by a non-root USER: set uid/gid/mode on the mount by hand",
                )
            if fix.applicability == Applicability.DISPLAY_ONLY:
                plans.append(plan)
                continue
            stage = facts.stage_of[idx]
            consumers = [j for j in sorted(facts.runs) if j > idx and facts.stage_of[j] == stage and needs_file(facts.runs[j], base)]
            for j in consumers:
                plan.file_mounts.setdefault(j, []).append(f"--mount=type=secret,id={sid},target={target}")
            host_src = os.path.normpath(os.path.join(ctx or ".", src)) if ctx else src
            plan.specs.append(SecretSpec(sid, "file", None, host_src))
            plan.notes.append(f"add {src} to .dockerignore so `COPY . .` can never pick it up")
            # remove the source, or the whole instruction when every source goes (one shared edit)
            removable = [x for x in srcs if _removable_cred(ctx, unquote(x.raw, df.escape), df.escape)]
            if len(srcs) == 1 or len(removable) == len(srcs):
                plan.extra_edits.append(Edit(ins.start, ins.end, ""))
            else:
                k = srcs.index(w)
                lo = ins.logical.to_source(cmd.args_lstart + w.start)
                nxt = words[k + 1]
                hi = ins.logical.to_source(cmd.args_lstart + nxt.start)
                plan.extra_edits.append(Edit(lo, hi, ""))
            plans.append(plan)
    for p in plans:
        render_plan_edits(facts, p, "env", options)
    return plans


def _removable_cred(ctx: str | None, src: str, escape: str) -> bool:
    """Will this COPY source be turned into a secret mount (so it leaves the COPY)?"""
    kind = cred_kind(src)
    if kind is None or kind in ("ssh",) or kind in NAMED_CRED_KINDS or "$" in src:
        return False  # these are reported, not turned into mounts
    base = src.rstrip("/").rsplit("/", 1)[-1]
    known = is_credential_file(buildcontext.inside(ctx, src), base) if ctx else None
    if known is False or (known is None and kind in ("npmrc", "yarnrc", "maven_settings", "pip_conf", "composer_auth", "docker_config")):
        return False
    return not (ctx and buildcontext.dockerignored(ctx, src))


def _context_credentials(ctx: str, sub: str) -> tuple[str, ...]:
    """Credential files under ``ctx/sub`` (a source resolved *inside* the context, as BuildKit
    does), not excluded by .dockerignore (at most 20); the walk and the reads are cached per run."""
    root = os.path.join(ctx, sub) if sub else ctx
    found: list[str] = []
    cut = len(ctx.rstrip(os.sep)) + 1
    for dirpath, filenames in buildcontext.walk(root):
        for fn in filenames:
            if (
                fn not in CRED_FILES
                and fn not in SSH_KEYS
                and fn not in ("credentials", "config.json")
                and not fn.startswith("id_")
                and not (
                    ".env" in fn
                    or fn.endswith((".json", ".pfx", ".p12", ".pgpass", ".cnf", ".key", ".pem"))
                    or "pass" in fn.lower()
                    or "kubeconfig" in fn.lower()
                    or fn == "config"
                )
            ):
                continue
            full = os.path.join(dirpath, fn)
            rel = full[cut:].replace(os.sep, "/")
            if (cred_kind(rel) is None and not private_key_file(rel)) or buildcontext.dockerignored(ctx, rel):
                continue
            if is_credential_file(full, fn):
                found.append(rel)
        if len(found) >= 20:
            break
    return tuple(found)


def _check_directory_copy(facts: Facts, ins: Instruction, idx: int, src: str, ctx: str | None, findings: list[Finding]) -> None:
    if not ctx:
        return
    found = [rel for rel in _context_credentials(os.path.realpath(ctx), posixpath.normpath("/" + src).lstrip("/"))]
    for rel in sorted(found):
        fix = Fix(f"Add {rel} to .dockerignore", [], Applicability.DISPLAY_ONLY)
        fix.reasons.append(
            f"`{ins.keyword} {src} …` copies {rel}; add it to .dockerignore and mount it where needed with --mount=type=secret"
        )
        findings.append(
            Finding(
                "DF008",
                rel,
                f"{ins.keyword.upper()} {src} copies the credential file {rel} from the build context into the image",
                ins.command.kw_start,
                ins.logical_end,
                fix,
            )
        )
