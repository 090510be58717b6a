"""Audit output: text (streamed per image), json, sarif 2.1.0, markdown. No value is ever written:
findings carry ``describe_value``'s masked description and a 4-hex fingerprint only."""

from __future__ import annotations

import json
from collections import defaultdict

from refactor.audit.model import Finding, ImageResult

SCHEMA_VERSION = 1


def merge(results: list[ImageResult]) -> list[ImageResult]:
    """One result per (repository, image digest): several tags may point at one manifest."""
    out: dict[tuple[str, str], ImageResult] = {}
    rest: list[ImageResult] = []
    for r in results:
        if r.error or not r.digest:
            rest.append(r)
            continue
        have = out.get((r.repository, r.digest))
        if have is None:
            out[(r.repository, r.digest)] = r
            continue
        for n in r.names:
            if n not in have.names:
                have.names.append(n)
        for f in have.findings:
            f.names = list(have.names)
    return list(out.values()) + rest


def summary(results: list[ImageResult]) -> list[dict]:
    images: dict[str, set[str]] = defaultdict(set)
    repos: dict[str, set[str]] = defaultdict(set)
    fps: dict[str, set[str]] = defaultdict(set)
    for r in results:
        for f in r.findings:
            images[f.credential].add(f.digest)
            repos[f.credential].add(f.repository)
            fps[f.credential].add(f.fingerprint)
    rows = []
    for cred in sorted(images, key=lambda c: (-len(images[c]), c)):
        rows.append({"credential": cred, "images": len(images[cred]), "repositories": len(repos[cred]), "fingerprints": sorted(fps[cred])})
    return rows


def summary_line(row: dict) -> str:
    n, m = row["images"], row["repositories"]
    fp = ", ".join("#" + x for x in row["fingerprints"])
    return f"{row['credential']} ({fp}): seen in {n} image{'s' if n != 1 else ''} of {m} repositor{'ies' if m != 1 else 'y'} — rotate"


def text_image(r: ImageResult) -> str:
    if r.error:
        return f"error: {r.error}\n"
    if not r.findings:
        return ""
    names = ", ".join(r.names[:4]) + (f" (+{len(r.names) - 4})" if len(r.names) > 4 else "")
    lines = [f"{names}  {r.digest}"]
    for f in r.findings:
        lines.append(f"  {f.credential} #{f.fingerprint} {f.description}")
        for loc in f.locations:
            lines.append(f"    seen in {loc}")
        for fx in f.fix:
            lines.append(f"    fix in {fx}")
    return "\n".join(lines) + "\n"


def text_summary(results: list[ImageResult]) -> str:
    rows = summary(results)
    n_img = len([r for r in results if not r.error])
    n_err = len([r for r in results if r.error])
    out = []
    if rows:
        out.append("")
        out += [summary_line(r) for r in rows]
    leaking = len([r for r in results if r.findings])
    out.append(
        f"audited {n_img} image{'s' if n_img != 1 else ''}: {leaking} leak{'s' if leaking == 1 else ''} credentials"
        + (f", {n_err} error{'s' if n_err != 1 else ''}" if n_err else "")
    )
    return "\n".join(out) + "\n"


def to_json(results: list[ImageResult]) -> str:
    doc = {
        "schema_version": SCHEMA_VERSION,
        "images": [
            {
                "target": r.target,
                "image": r.image,
                "names": r.names,
                "repository": r.repository,
                "digest": r.digest,
                "status": "error" if r.error else "ok",
                "error": r.error,
                "notes": r.notes,
                "findings": [f.to_json() for f in r.findings],
            }
            for r in results
        ],
        "credentials": summary(results),
        "summary": {
            "images": len([r for r in results if not r.error]),
            "leaking": len([r for r in results if r.findings]),
            "findings": sum(len(r.findings) for r in results),
            "errors": len([r for r in results if r.error]),
        },
    }
    return json.dumps(doc, indent=2) + "\n"


def _rule_id(f: Finding) -> str:
    return "AUDIT001"


def to_sarif(results: list[ImageResult]) -> str:
    from refactor import __version__ as version

    sarif_results = []
    for r in results:
        for f in r.findings:
            msg = (
                f"{f.credential} ({f.description}, fingerprint {f.fingerprint}) leaks in image {r.image} ({r.digest}): "
                + "; ".join(f.locations[:10])
                + ". Rotate it, and rebuild with a BuildKit secret mount (dfix --write)."
            )
            locs: list[dict] = []
            for fx in f.fix:
                path, _, rest = fx.partition(":")
                line = rest.split(" ", 1)[0]
                if line.isdigit():
                    locs.append({"physicalLocation": {"artifactLocation": {"uri": path}, "region": {"startLine": int(line)}}})
            if not locs:
                locs = [{"logicalLocations": [{"name": r.image, "fullyQualifiedName": f"{r.repository}@{r.digest}", "kind": "image"}]}]
            sarif_results.append(
                {
                    "ruleId": _rule_id(f),
                    "level": "error",
                    "message": {"text": msg},
                    "locations": locs[:1],
                    "relatedLocations": [{"id": i, "message": {"text": loc}} for i, loc in enumerate(f.locations[:20])],
                    "partialFingerprints": {"dfixAudit/v1": f"{r.digest}:{f.credential}:{f.fingerprint}"},
                }
            )
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "dfix audit",
                        "version": version,
                        "informationUri": "https://github.com/",
                        "rules": [
                            {
                                "id": "AUDIT001",
                                "name": "leaked-credential-in-image",
                                "shortDescription": {"text": "A built image holds a credential (history, config or layer file)"},
                                "fullDescription": {
                                    "text": "The image's history, config (Env, Labels, OnBuild) or a layer file holds a credential. "
                                    "Anyone who can pull the image can read it: rotate it, then rebuild with secret mounts."
                                },
                                "defaultConfiguration": {"level": "error"},
                                "properties": {"tags": ["security"], "security-severity": "9.0"},
                            }
                        ],
                    }
                },
                "results": sarif_results,
                "invocations": [
                    {
                        "executionSuccessful": not any(r.error for r in results),
                        "toolExecutionNotifications": [{"level": "error", "message": {"text": r.error}} for r in results if r.error],
                    }
                ],
            }
        ],
    }
    return json.dumps(doc, indent=2) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(results: list[ImageResult]) -> str:
    out = ["## dfix audit", ""]
    rows = summary(results)
    if rows:
        out += ["| credential | fingerprints | images | repositories |", "|---|---|---:|---:|"]
        for row in rows:
            fps = ", ".join("`" + x + "`" for x in row["fingerprints"])
            out.append(f"| `{_md(row['credential'])}` | {fps} | {row['images']} | {row['repositories']} |")
        out += ["", "Rotate every credential above: anyone who can pull these images can read it.", ""]
    else:
        out += ["No credential found.", ""]
    for r in results:
        if r.findings:
            out.append(f"<details><summary><code>{_md(r.image)}</code> {len(r.findings)} credential(s)</summary>")
            out.append("")
            out += ["| credential | value | seen in | fix in |", "|---|---|---|---|"]
            for f in r.findings:
                out.append(
                    f"| `{_md(f.credential)}` #{f.fingerprint} | {_md(f.description)} | {'<br>'.join(_md(x) for x in f.locations)} | {'<br>'.join(_md(x) for x in f.fix)} |"
                )
            out += ["", "</details>", ""]
    errs = [r for r in results if r.error]
    if errs:
        out += ["**Errors**", ""] + [f"- {_md(r.error or '')}" for r in errs] + [""]
    return "\n".join(out)
