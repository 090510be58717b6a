"""``pin_digests`` and ``findings_latest`` with a fake resolver, and with the client on a fake registry."""

from __future__ import annotations

import hashlib

import pytest

from refactor.source import SourceFile
from refactor.supply.pin import findings_latest, pin_digests
from refactor.supply.registry import RegistryClient, RegistryError
from refactor.syntax.dockerfile import parse


def digest_for(ref: str) -> str:
    return "sha256:" + hashlib.sha256(ref.encode()).hexdigest()


class FakeResolver:
    def __init__(self, fail: dict[str, RegistryError] | None = None):
        self.calls: list[tuple[str, str | None]] = []
        self.fail = fail or {}

    def __call__(self, ref: str, platform: str | None):
        self.calls.append((ref, platform))
        if ref in self.fail:
            raise self.fail[ref]
        return digest_for(ref)


def pin(text: str, resolver=None, **kw):
    resolver = resolver or FakeResolver()
    df = parse(SourceFile.from_text("Dockerfile", text))
    result = pin_digests(df, resolver, **kw)
    out = result.apply(text)
    parse(SourceFile.from_text("Dockerfile", out))  # still a Dockerfile BuildKit accepts
    return out, result, resolver


def D(ref: str) -> str:
    return "@" + digest_for(ref)


def test_literal_from_is_pinned_keeping_tag_alias_and_bytes() -> None:
    text = "# syntax check\nfrom  node:20   AS Build\r\nRUN echo hi\nFROM ubuntu\n"
    out, res, r = pin(text)
    assert out == f"# syntax check\nfrom  node:20{D('node:20')}   AS Build\r\nRUN echo hi\nFROM ubuntu{D('ubuntu')}\n"
    assert [n.reason for n in res.notes] == ["pinned", "pinned"]
    assert r.calls == [("node:20", None), ("ubuntu", None)]
    assert all(e.start == e.end for e in res.edits)  # insertions only


def test_idempotent() -> None:
    out, _, _ = pin("FROM node:20\nFROM ghcr.io/o/r:1 AS x\n")
    out2, res2, r2 = pin(out)
    assert out2 == out and not res2.fixes and r2.calls == []
    assert {n.reason for n in res2.notes} == {"already-pinned"}


def test_continuation_and_escape_directive() -> None:
    text = "# escape=`\nFROM `\n  node:20 `\n  AS b\nRUN echo `\n  hi\n"
    out, res, _ = pin(text)
    assert out == f"# escape=`\nFROM `\n  node:20{D('node:20')} `\n  AS b\nRUN echo `\n  hi\n"


def test_stage_references_scratch_and_pinned_are_skipped() -> None:
    pinned = "alpine:3.19@sha256:" + "c" * 64
    text = (f"FROM golang:1.22 AS Builder\nRUN go build\nFROM builder AS again\nFROM BUILDER\nFROM scratch\n"
            f"COPY --from=Builder /a /a\nCOPY --from=0 /a /b\nFROM {pinned}\n")
    out, res, r = pin(text)
    assert r.calls == [("golang:1.22", None)]
    assert out == text.replace("golang:1.22", "golang:1.22" + D("golang:1.22"), 1)
    reasons = [(n.line, n.reason) for n in res.notes]
    assert reasons == [(1, "pinned"), (3, "stage"), (4, "stage"), (5, "scratch"), (8, "already-pinned")]


def test_platform_handling() -> None:
    text = ("ARG ARCH_PLATFORM=linux/arm64\n"
            "FROM --platform=linux/amd64 node:20 AS a\n"
            "FROM --platform=$ARCH_PLATFORM node:20 AS b\n"
            "FROM --platform=$BUILDPLATFORM golang:1.22 AS c\n"
            "FROM --platform=${TARGETPLATFORM} alpine:3.20\n")
    out, res, r = pin(text)
    assert r.calls == [("node:20", "linux/amd64"), ("node:20", "linux/arm64"), ("golang:1.22", None), ("alpine:3.20", None)]
    assert out.count("@sha256:") == 4
    c = [n for n in res.notes if n.image == "golang:1.22"][0]
    assert "--platform is decided at build time" in c.message


def test_registry_error_is_per_image_and_the_rest_goes_on() -> None:
    r = FakeResolver({"private.example.com/app:1": RegistryError("unauthorized", "private.example.com/app:1: unauthorized at private.example.com"),
                      "gone:1": RegistryError("not-found", "gone:1: not found at registry-1.docker.io")})
    text = "FROM private.example.com/app:1 AS a\nFROM gone:1 AS b\nFROM node:20\n"
    out, res, _ = pin(text, r)
    assert out == text.replace("node:20", "node:20" + D("node:20"))
    errors = [(n.line, n.reason, n.message) for n in res.errors]
    assert [e[:2] for e in errors] == [(1, "registry"), (2, "registry")]
    assert "unauthorized" in errors[0][2] and "not found" in errors[1][2]


def test_invalid_reference_is_an_error_note() -> None:
    out, res, r = pin("ARG V=.bad\nFROM node:$V\nFROM node:20\nFROM Node:20\n")
    assert r.calls == [("node:20", None)]
    assert [(n.status, n.reason) for n in res.notes] == [
        ("error", "invalid-reference"), ("pinned", "pinned"), ("error", "invalid-reference")]
    assert "invalid tag" in res.notes[0].message and "lowercase" in res.notes[2].message


def test_copy_from_external_image() -> None:
    text = "FROM alpine:3.20 AS base\nFROM base\nCOPY --from=busybox:1.36 /bin/busybox /bin/\nCOPY --from=base /a /b\n"
    out, res, _ = pin(text)
    assert f"COPY --from=busybox:1.36{D('busybox:1.36')} /bin/busybox" in out
    out2, _, r2 = pin(text, copy_from=False)
    assert "COPY --from=busybox:1.36 /bin" in out2 and ("busybox:1.36", None) not in r2.calls


# ------------------------------------------------------------------------ ARG-parameterized FROM


def test_arg_default_carries_the_digest() -> None:
    text = 'ARG NODE_VERSION="20"\nARG BASE=python:3.12 OTHER=1\nFROM node:${NODE_VERSION} AS n\nFROM ${BASE}\nRUN echo $OTHER\n'
    out, res, r = pin(text)
    assert out == (f'ARG NODE_VERSION="20{D("node:20")}"\nARG BASE=python:3.12{D("python:3.12")} OTHER=1\n'
                   "FROM node:${NODE_VERSION} AS n\nFROM ${BASE}\nRUN echo $OTHER\n")
    assert [n.reason for n in res.notes] == ["pinned-via-arg", "pinned-via-arg"]
    assert "--build-arg NODE_VERSION=" in res.notes[0].message
    # the second run sees pinned references
    out2, res2, r2 = pin(out)
    assert out2 == out and not r2.calls


def test_arg_default_shared_by_two_identical_froms() -> None:
    text = "ARG V=20\nFROM node:$V AS a\nFROM node:${V} AS b\n"
    out, res, _ = pin(text)
    assert out == f"ARG V=20{D('node:20')}\nFROM node:$V AS a\nFROM node:${{V}} AS b\n"


@pytest.mark.parametrize("text, why", [
    ("ARG V=20\nFROM node:${V}\nRUN echo $V\n", "also used on line 3"),
    ("ARG V=20\nFROM node:${V}\nARG V\nRUN ./install.sh\n", "also used on line 3"),  # stage ARG: env of RUN
    ("ARG V=20\nFROM node:${V}-alpine\n", "not at the end"),
    ("ARG V=20\nFROM node:${V}\nFROM python:${V}\n", "different images"),
    ("ARG V=20\nARG V=22\nFROM node:${V}\n", "declared more than once"),
    ("ARG A=20\nARG V=${A}\nFROM node:${V}\n", "parameterized"),
    ("ARG R=docker.io\nARG V=20\nFROM ${R}/node:${V}\n", "more than one variable"),
    ("ARG V=20\nFROM node:${V:-18}\n", "plain"),
])
def test_arg_parameterized_skipped_with_todays_digest(text, why) -> None:
    out, res, r = pin(text)
    assert out == text
    notes = [n for n in res.notes if n.reason == "parameterized"]
    assert notes and why in notes[0].message, [n.message for n in res.notes]
    assert "today it resolves to sha256:" in notes[0].message


@pytest.mark.parametrize("text, why", [
    ("ARG V\nFROM node:${V}\n", "ARG V has no concrete default"),
    ("ARG V\nFROM node:${V:-20}\n", "ARG V has no concrete default"),
    ("FROM node:${UNDECLARED}\n", "not declared by a global ARG"),
    ("FROM node-${TARGETARCH}:1\n", "known only at build time"),
])
def test_arg_not_concrete_is_skipped_without_resolving(text, why) -> None:
    out, res, r = pin(text)
    assert out == text and r.calls == []
    assert why in res.notes[0].message and res.notes[0].status == "skipped"


def test_arg_defaults_expand_like_buildkit() -> None:
    from refactor.supply.pin import _expand

    env = {"A": "1", "E": "", "N": None}
    assert _expand("x${A}y", env, "\\") == "x1y"
    assert _expand("${E:-d}", env, "\\") == "d"
    assert _expand("${E-d}", env, "\\") == ""
    assert _expand("${U:-d}", env, "\\") == "d"
    assert _expand("${A:+set}", env, "\\") == "set"
    assert _expand("${U:+set}", env, "\\") == ""
    assert _expand("'$A'", env, "\\") == "$A"
    assert _expand("${N}", env, "\\") is None
    assert _expand("${A#x}", env, "\\") is None
    assert _expand("$TARGETARCH", env, "\\") is None


# ------------------------------------------------------------------------------------ latest


def test_findings_latest() -> None:
    text = ("ARG IMG=redis\nARG T=3.19\nFROM ubuntu AS a\nFROM debian:latest AS b\nFROM alpine:${T} AS c\n"
            "FROM ${IMG} AS d\nFROM a\nFROM scratch\nFROM node@sha256:" + "d" * 64 + "\n"
            "FROM node:latest@sha256:" + "e" * 64 + "\nCOPY --from=busybox /x /y\nCOPY --from=b /x /y\nFROM ${NOPE}\n")
    df = parse(SourceFile.from_text("Dockerfile", text))
    got = findings_latest(df)
    assert [(i, img) for i, img, _ in got] == [(2, "ubuntu"), (3, "debian:latest"), (5, "redis"), (10, "busybox")]
    msgs = {img: m for _, img, m in got}
    assert "no tag" in msgs["ubuntu"] and "`latest`" in msgs["debian:latest"]
    assert "ARG IMG" in msgs["redis"] and "COPY --from" in msgs["busybox"]


def test_findings_latest_stage_names() -> None:
    """Stage names given by an ARG are stages; a FROM never names its own stage (``FROM gcc AS
    gcc`` is the gcc image); an image ID cannot change."""
    text = ("ARG FIRST=first-stage\nARG SECOND=second-stage\nFROM alpine:3.20 AS ${FIRST}\nFROM ${FIRST} AS ${SECOND}\n"
            "FROM alpine:3.20\nCOPY --from=second-stage /a /b\nFROM gcc AS gcc\nFROM gcc\n"
            "FROM " + "0123456789abcdef" * 4 + "\n")
    df = parse(SourceFile.from_text("Dockerfile", text))
    assert [(i, img) for i, img, _ in findings_latest(df)] == [(6, "gcc")]


# ------------------------------------------------------------- with the real client, fake registry


def test_pin_with_registry_client_on_fake_registry() -> None:
    from test_supply_registry import FakeRegistry

    with FakeRegistry(auth="bearer") as reg:
        d1 = reg.put_image("team/app", "1")
        dm = reg.put_index("team/multi", "2")
        text = (f"FROM {reg.address}/team/app:1 AS a\nFROM --platform=linux/arm64 {reg.address}/team/multi:2 AS b\n"
                f"FROM --platform=linux/s390x {reg.address}/team/multi:2 AS c\nFROM {reg.address}/team/none:1\n")
        out, res, _ = pin(text, RegistryClient(timeout=5))
        assert f"team/app:1@{d1} AS a" in out and f"team/multi:2@{dm} AS b" in out
        assert "team/multi:2 AS c" in out and out.endswith("team/none:1\n")
        by_line = {n.line: n for n in res.notes}
        assert "multi-arch index (linux/amd64, linux/arm64)" in by_line[2].message
        assert by_line[3].status == "error" and "no linux/s390x image" in by_line[3].message
        assert by_line[4].status == "error" and "not found" in by_line[4].message


def test_build_time_platform_notes_with_registry_client() -> None:
    from test_supply_registry import FakeRegistry

    with FakeRegistry() as reg:
        reg.put_image("one", "1")
        reg.put_index("multi", "1")
        text = (f"FROM --platform=$BUILDPLATFORM {reg.address}/multi:1 AS a\n"
                f"FROM --platform=$TARGETPLATFORM {reg.address}/one:1\n")
        out, res, _ = pin(text, RegistryClient(timeout=5))
        assert out.count("@sha256:") == 2
        assert "platform chosen at build time from the pinned index" in res.notes[0].message
        assert "single-platform image" in res.notes[1].message
