"""Audit output: text, json, sarif 2.1.0, markdown, each streamed. A report writes its header first,
then one piece per image as each target finishes, then its closing (the per-credential summary, the
errors). Between the two it holds only a ``Tally`` (counts and per-credential sets), never the
findings, so memory stays flat in the number of images.

No value is ever written: findings carry ``describe_value``'s masked description and a 4-hex
fingerprint only."""

from __future__ import annotations

import hashlib
import io
import json
from collections import defaultdict
from collections.abc import Callable, Iterable

from refactor.audit.model import Finding, ImageResult

SCHEMA_VERSION = 1

NEW, AGAIN, LAST = "new", "again", "last"


class Tally:
    """What a report's closing needs, without the findings: the (repository, digest) pairs already
    written, as 16-byte hashes (several tags may point at one manifest: only the first result is
    counted), per credential the digests, repositories and fingerprints it was seen in, counts, and
    the results written last (errors and digest-less results came after the others, as before)."""

    def __init__(self) -> None:
        self.seen: set[bytes] = set()
        self.cred_images: dict[str, set[str]] = defaultdict(set)
        self.cred_repos: dict[str, set[str]] = defaultdict(set)
        self.cred_fps: dict[str, set[str]] = defaultdict(set)
        self.images = 0  # audited images (errors excluded)
        self.leaking = 0
        self.findings = 0
        self.errors: list[str] = []
        self.last: list[ImageResult] = []

    def add(self, r: ImageResult) -> str:
        """NEW: the first result of an image, write it now; AGAIN: an image already written under
        another name (not counted); LAST: an error or a digest-less result, written at the end."""
        if r.error or not r.digest:
            self.last.append(r)
            self._count(r)
            return LAST
        key = hashlib.blake2b(f"{r.repository}\0{r.digest}".encode(), digest_size=16).digest()
        if key in self.seen:
            return AGAIN
        self.seen.add(key)
        self._count(r)
        return NEW

    def _count(self, r: ImageResult) -> None:
        if r.error:
            self.errors.append(r.error)
            return
        self.images += 1
        if r.findings:
            self.leaking += 1
            self.findings += len(r.findings)
        for f in r.findings:
            self.cred_images[f.credential].add(f.digest)
            self.cred_repos[f.credential].add(f.repository)
            self.cred_fps[f.credential].add(f.fingerprint)

    def summary(self) -> list[dict]:
        imgs = self.cred_images
        return [
            {"credential": c, "images": len(imgs[c]), "repositories": len(self.cred_repos[c]), "fingerprints": sorted(self.cred_fps[c])}
            for c in sorted(imgs, key=lambda c: (-len(imgs[c]), c))
        ]


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


def text_summary(t: Tally) -> str:
    rows = t.summary()
    out = []
    if rows:
        out.append("")
        out += [summary_line(r) for r in rows]
    n_img, n_err, leaking = t.images, len(t.errors), t.leaking
    out.append(
        f"audited {n_img} image{'s' if n_img != 1 else ''}: {leaking} leak{'s' if leaking == 1 else ''} credentials"
        + (f", {n_err} error{'s' if n_err != 1 else ''}" if n_err else "")
    )
    return "\n".join(out) + "\n"


# -- a JSON document with one array streamed ------------------------------------------------------

_SLOT = "<dfix-audit-stream-slot>"


def _split(doc: dict) -> tuple[str, str, str]:
    """``doc`` rendered as ``json.dumps(doc, indent=2)`` around its one ``[_SLOT]`` array: the text
    up to the array's ``[``, its elements' indent, and the text from its closing (``\\n  ]…``)."""
    text = json.dumps(doc, indent=2)
    i = text.index(json.dumps(_SLOT))
    nl = text.rindex("\n", 0, i)
    return text[:nl], text[nl + 1 : i], text[i + len(json.dumps(_SLOT)) :]


class _JsonArray:
    """Writes the elements of the slot array as ``json.dumps`` would have nested them."""

    def __init__(self) -> None:
        self.indent = ""
        self.n = 0

    def open(self, doc: dict) -> str:
        head, self.indent, _ = _split(doc)
        return head

    def element(self, value: object) -> str:
        text = json.dumps(value, indent=2).replace("\n", "\n" + self.indent)
        sep = "\n" if self.n == 0 else ",\n"
        self.n += 1
        return sep + self.indent + text

    def close(self, doc: dict) -> str:
        tail = _split(doc)[2]
        return tail.lstrip("\n ") if self.n == 0 else tail


# -- reports ---------------------------------------------------------------------------------------


class Report:
    """One format: ``start()``, then ``image(r)`` for each result to write (the first of each image,
    then the LAST ones), then ``finish(tally)``; each returns the text to write next."""

    write_again = False  # also write a result whose image was already written under another name

    def start(self) -> str:
        return ""

    def image(self, r: ImageResult) -> str:
        raise NotImplementedError

    def finish(self, t: Tally) -> str:
        raise NotImplementedError


class TextReport(Report):
    def image(self, r: ImageResult) -> str:
        return "" if r.error else text_image(r)

    def finish(self, t: Tally) -> str:
        return text_summary(t)


class JsonReport(Report):
    """One ``images[]`` element per image (issue #21: one finding per image digest and credential):
    the tags of one manifest are its ``names``, which later tags extend, so the elements are kept
    until the end (json is the one format not written image by image; its memory grows with the
    images, not with their findings' layers)."""

    write_again = True

    def __init__(self) -> None:
        self.array = _JsonArray()
        self.elements: dict[object, dict] = {}

    @staticmethod
    def _doc(images: list, t: Tally | None) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "images": images,
            "credentials": t.summary() if t else [],
            "summary": {
                "images": t.images if t else 0,
                "leaking": t.leaking if t else 0,
                "findings": t.findings if t else 0,
                "errors": len(t.errors) if t else 0,
            },
        }

    def start(self) -> str:
        return self.array.open(self._doc([_SLOT], None))

    def image(self, r: ImageResult) -> str:
        key: object = (r.repository, r.digest) if r.digest and not r.error else len(self.elements)
        if key in self.elements:  # another tag of an image already kept: one more name
            kept = self.elements[key]
            kept["names"].extend(n for n in r.names if n not in kept["names"])
            for f in kept["findings"]:  # (each finding names the image's tags too)
                if "names" in f:
                    f["names"] = list(kept["names"])
            return ""
        self.elements[key] = {
            "target": r.target,
            "image": r.image,
            "names": list(r.names),
            "repository": r.repository,
            "digest": r.digest,
            "status": "error" if r.error else "ok",
            "error": r.error,
            "notes": r.notes,
            "findings": [f.to_json() for f in r.findings],
        }
        return ""

    def finish(self, t: Tally) -> str:
        body = "".join(self.array.element(e) for e in self.elements.values())
        return body + self.array.close(self._doc([_SLOT], t)) + "\n"


def _rule_id(f: Finding) -> str:
    return "AUDIT001"


class SarifReport(Report):
    def __init__(self) -> None:
        self.array = _JsonArray()

    @staticmethod
    def _doc(errors: list[str]) -> dict:
        from refactor import __version__ as version

        return {
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
                    "results": [_SLOT],
                    "invocations": [
                        {
                            "executionSuccessful": not errors,
                            "toolExecutionNotifications": [{"level": "error", "message": {"text": e}} for e in errors],
                        }
                    ],
                }
            ],
        }

    def start(self) -> str:
        return self.array.open(self._doc([]))

    def image(self, r: ImageResult) -> str:
        out = []
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
            out.append(
                self.array.element(
                    {
                        "ruleId": _rule_id(f),
                        "level": "error",
                        "message": {"text": msg},
                        "locations": locs[:1],
                        "relatedLocations": [{"id": i, "message": {"text": loc}} for i, loc in enumerate(f.locations[:20])],
                        "partialFingerprints": {"dfixAudit/v1": f"{r.digest}:{f.credential}:{f.fingerprint}"},
                    }
                )
            )
        return "".join(out)

    def finish(self, t: Tally) -> str:
        return self.array.close(self._doc(t.errors)) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


class MarkdownReport(Report):
    """Per-image tables as images finish; the per-credential summary, then the errors, at the end."""

    def start(self) -> str:
        return "## dfix audit\n\n"

    def image(self, r: ImageResult) -> str:
        if not r.findings:
            return ""
        out = [f"<details><summary><code>{_md(r.image)}</code> {len(r.findings)} credential(s)</summary>", ""]
        out += ["| credential | value | seen in | fix in |", "|---|---|---|---|"]
        for f in r.findings:
            out.append(
                f"| `{_md(f.credential)}` #{f.fingerprint} | {_md(f.description)} | {'<br>'.join(_md(x) for x in f.locations)} | {'<br>'.join(_md(x) for x in f.fix)} |"
            )
        out += ["", "</details>", ""]
        return "".join(x + "\n" for x in out)

    def finish(self, t: Tally) -> str:
        out = []
        rows = t.summary()
        if rows:
            out += ["| credential | fingerprints | images | repositories |", "|---|---|---:|---:|"]
            for row in rows:
                fps = ", ".join("`" + x + "`" for x in row["fingerprints"])
                out.append(f"| `{_md(row['credential'])}` | {fps} | {row['images']} | {row['repositories']} |")
            out += ["", "Rotate every credential above: anyone who can pull these images can read it.", ""]
        else:
            out += ["No credential found.", ""]
        if t.errors:
            out += ["**Errors**", ""] + [f"- {_md(e)}" for e in t.errors] + [""]
        return "".join(x + "\n" for x in out[:-1])


REPORTS: dict[str, Callable[[], Report]] = {"text": TextReport, "json": JsonReport, "sarif": SarifReport, "markdown": MarkdownReport}


class Stream:
    """Feed results as they arrive (``add``), then ``close``; ``write`` receives the report's text
    piece by piece. ``tally`` holds the counts for the exit code and the stderr summary."""

    def __init__(self, fmt: str, write: Callable[[str], object]) -> None:
        self.report = REPORTS[fmt]()
        self.tally = Tally()
        self._write = write
        self._put(self.report.start())

    def _put(self, text: str) -> None:
        if text:
            self._write(text)

    def add(self, r: ImageResult) -> str:
        kind = self.tally.add(r)
        if kind == NEW or (kind == AGAIN and self.report.write_again):
            self._put(self.report.image(r))
        return kind

    def close(self, finish: bool = True) -> None:
        for r in self.tally.last:
            self._put(self.report.image(r))
        self.tally.last = []
        if finish:
            self._put(self.report.finish(self.tally))


def render(fmt: str, results: Iterable[ImageResult]) -> str:
    """A whole report as one string (tests, small callers)."""
    buf = io.StringIO()
    s = Stream(fmt, buf.write)
    for r in results:
        s.add(r)
    s.close()
    return buf.getvalue()
