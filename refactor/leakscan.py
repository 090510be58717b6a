"""Find secret values in a built image: history, config, labels, env, and every file of every layer.

``scan_image(ref, {"NPM_TOKEN": value})`` looks for each value raw, base64-encoded (standard and
URL-safe alphabets, padded or not, and embedded at any byte offset inside a longer base64 text, so
``base64("user:" + value)`` is caught too) and URL-quoted, in:

- ``history``: ``docker history --no-trunc`` and the ``history`` of the saved image config;
- ``env``: ``Config.Env``;
- ``labels``: ``Config.Labels``;
- ``config``: the rest of ``docker image inspect`` and of the saved config/manifest blobs;
- ``layers``: every member (path, link target, PAX headers, content) of every layer tar in
  ``docker save`` (gzip and, when the ``zstandard`` module is installed, zstd layers too).

The report names secrets, channels and locations; it never holds a value. Locations are masked
(a value inside a path or a history line shows as ``<NAME>``). ``docker save`` is streamed: no
image is held in memory.

The parts: :mod:`refactor.leakscan_match` (encodings and the matcher), :mod:`refactor.leakscan_report`
(the report), :mod:`refactor.leakscan_json` (JSON documents) and :mod:`refactor.leakscan_save` (the
``docker save`` stream); this module keeps the entry point, :func:`scan_image`.
"""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
import tempfile

from refactor.leakscan_json import _scan_json, _snippet
from refactor.leakscan_match import _CHUNK, Matcher
from refactor.leakscan_match import MIN_LEN as MIN_LEN
from refactor.leakscan_match import encodings as encodings
from refactor.leakscan_match import mask_values as mask_values
from refactor.leakscan_report import CHANNELS as CHANNELS
from refactor.leakscan_report import Leak as Leak
from refactor.leakscan_report import ScanReport
from refactor.leakscan_save import Prepended as Prepended
from refactor.leakscan_save import _SaveScanner
from refactor.leakscan_save import read_exact as read_exact


def _run_json_lines(cmd: list[str]) -> list[dict]:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise ScanError(f"{' '.join(cmd[:3])} failed: {proc.stderr.strip()[-400:]}")
    out = proc.stdout.strip()
    if out.startswith("["):
        return json.loads(out)
    return [json.loads(line) for line in out.splitlines() if line.strip()]


class ScanError(RuntimeError):
    pass


def scan_image(image_ref: str, values: dict[str, str], docker: str = "docker") -> ScanReport:
    """Scan one local image for the given secret values (name -> value)."""
    matcher = Matcher(values)
    report = ScanReport(image_ref, tuple(values), unscannable=tuple(matcher.skipped))
    if not matcher:
        return report
    tool = os.path.basename(docker)
    if tool == "buildah":
        return _scan_buildah(image_ref, matcher, report, docker)

    # history
    entries = _run_json_lines([docker, "history", "--no-trunc", "--format", "{{json .}}", image_ref])
    for i, entry in enumerate(entries):
        for key, val in entry.items():
            if not isinstance(val, str):
                continue
            for name, enc in matcher.find_text(val):
                where = f"entry {i}" + ("" if key in ("CreatedBy", "createdBy") else f" {key}")
                report.add(name, "history", f"{where}: {_snippet(matcher.mask(val))}", enc)
    report.stats["history"] = len(entries)

    # inspect: env, labels, the rest
    docs = _run_json_lines([docker, "image", "inspect", image_ref])
    for doc in docs:
        _scan_json(doc, matcher, report, "inspect")

    # every layer and blob
    with subprocess.Popen([docker, "save", image_ref], stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL) as proc:
        try:
            _SaveScanner(matcher, report).scan(proc.stdout)
        except tarfile.TarError as exc:
            report.incomplete.add("layers")
            report.notes.append(f"docker save output unreadable ({exc})")
        finally:
            while proc.stdout and proc.stdout.read(_CHUNK):  # drain, so save can finish
                pass
        err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
        if proc.wait() != 0:
            report.incomplete.add("layers")
            report.notes.append(f"{tool} save failed: {matcher.mask(err.strip()[-300:])}")
    return report


def _scan_buildah(image_ref: str, matcher: Matcher, report: ScanReport, buildah: str) -> ScanReport:
    proc = subprocess.run(
        [buildah, "inspect", "--type", "image", image_ref], capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL
    )
    if proc.returncode != 0:
        raise ScanError(f"buildah inspect failed: {proc.stderr.strip()[-400:]}")
    doc = json.loads(proc.stdout)
    for key in ("Manifest", "Config"):  # JSON strings inside the document
        if isinstance(doc.get(key), str):
            try:
                doc[key] = json.loads(doc[key])
            except ValueError:
                pass
    _scan_json(doc, matcher, report, "inspect")
    with tempfile.TemporaryDirectory(prefix="dfix-scan-") as tmp:
        archive = os.path.join(tmp, "image.tar")
        push = subprocess.run(
            [buildah, "push", image_ref, f"docker-archive:{archive}"], capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL
        )
        if push.returncode != 0:
            report.incomplete.add("layers")
            report.notes.append(f"buildah push to an archive failed: {matcher.mask(push.stderr.strip()[-300:])}")
            return report
        with open(archive, "rb") as f:
            _SaveScanner(matcher, report).scan(f)
    return report
