"""DF009 mutable-base-image: an untagged or ``latest`` base image; ``--pin-digests`` pins it
(against the fake registry of test_supply_registry)."""

from __future__ import annotations

import pytest
from rulecheck import check_findings, check_fixed, check_noop
from test_supply_registry import FakeRegistry

CODE = "DF009"


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        pytest.param("FROM alpine\nRUN true\n", [("Dockerfile", 1)], id="no tag"),
        pytest.param("FROM alpine:latest\nRUN true\n", [("Dockerfile", 1)], id="latest"),
        pytest.param("FROM alpine:3.20\nCOPY --from=busybox /bin/sh /sh\n", [("Dockerfile", 2)], id="COPY --from an image"),
    ],
)
def test_findings(tmp_path, src, expected):
    check_findings(tmp_path, CODE, src, expected)


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        pytest.param("FROM {registry}/team/app\nRUN true\n", "FROM {registry}/team/app@{digest}\nRUN true\n", id="no tag"),
        pytest.param(
            "FROM {registry}/team/app:latest\nRUN true\n",
            "FROM {registry}/team/app:latest@{digest}\nRUN true\n",
            id="the tag stays for readers",
        ),
    ],
)
def test_fixed_with_pin_digests(tmp_path, monkeypatch, src, expected):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "no-docker-config"))  # no credential helpers
    with FakeRegistry() as reg:
        digest = reg.put_image("team/app", "latest")
        src, expected = (s.format(registry=reg.address, digest=digest) for s in (src, expected))
        check_fixed(tmp_path / "project", CODE, src, expected, "--pin-digests")


@pytest.mark.parametrize(
    "src",
    [
        pytest.param("FROM alpine:3.20\nRUN true\n", id="a tag"),
        pytest.param("FROM alpine:3.20 AS base\nFROM base\nRUN true\n", id="a stage reference"),
        pytest.param("FROM scratch\nCOPY app /app\n", id="scratch"),
        pytest.param("FROM alpine@sha256:" + "0" * 64 + "\nRUN true\n", id="a digest"),
    ],
)
def test_noop(tmp_path, src):
    check_noop(tmp_path, CODE, src)
