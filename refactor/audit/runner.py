"""Run an audit: targets -> units of work -> a bounded thread pool -> image results, streamed."""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import field
from functools import partial

from refactor.audit.config import scan_config, scan_provenance
from refactor.audit.layers import LayerError, Scanner, _Hashing
from refactor.audit.model import Finding, Hit, ImageResult, aggregate
from refactor.audit.registry import AuditRegistry, RegistryError, is_registry_target, parse_target
from refactor.audit.sources import ImageSpec, SourceError, local_config_image, open_archive, open_layout, parse_json, saved_local_image
from refactor.records import dataclass


@dataclass
class Options:
    layers: bool = False
    jobs: int = 8
    repo: object = None  # RepoIndex
    client: AuditRegistry | None = None
    max_file: int = 1 << 20


@dataclass
class Unit:
    """One piece of work: yields ImageResults (errors included, one line each)."""

    label: str
    run: Callable[[], list[ImageResult]]
    # a registry repository: list its tags first; gives their number and their units, made one by
    # one as the pool takes them (memory flat in the number of tags)
    expand: Callable[[], tuple[int, Iterator[Unit]]] | None = None


def _error(target: str, msg: str) -> ImageResult:
    return ImageResult(target=target, image=target, digest="", repository="", error=msg)


def audit_spec(spec: ImageSpec, opts: Options) -> ImageResult:
    res = ImageResult(target=spec.target, image=spec.image, digest=spec.digest, repository=spec.repository, names=list(spec.names))
    try:
        cfg = parse_json(spec.read_config(), f"{spec.image}: config")
        hits: list[Hit] = scan_config(cfg)
        for read_statements in spec.attestations:
            for stmt in read_statements():
                hits += scan_provenance(parse_json(stmt, f"{spec.image}: attestation"))
        if opts.layers:
            known = {h.value: h.name for h in hits if h.named}
            scanner = Scanner(known, opts.max_file)
            for layer in spec.layers:
                with layer.open() as raw:
                    hr = _Hashing(raw)
                    try:
                        hits += scanner.scan(hr, layer.label)
                    except LayerError:
                        if not layer.digest:
                            raise
                        hr.drain()  # a damaged blob: say so when its digest does not match
                        _check_layer(spec, layer, hr)
                        raise
                    hr.drain()
                _check_layer(spec, layer, hr)
            res.notes += scanner.notes
        res.findings = aggregate(
            hits, target=spec.target, image=spec.image, digest=spec.digest, repository=spec.repository, names=spec.names
        )
        if opts.repo is not None:
            _link(res.findings, hits, opts.repo)
    except (SourceError, RegistryError, LayerError) as exc:
        res.error = str(exc)
        res.findings = []
    return res


def _check_layer(spec: ImageSpec, layer, hr: _Hashing) -> None:
    if layer.digest and "sha256:" + hr.hexdigest() != layer.digest:
        raise SourceError(f"{spec.image}: layer {layer.label} digest mismatch (got sha256:{hr.hexdigest()[:12]})")


def _link(findings: list[Finding], hits: list[Hit], repo) -> None:
    by_key: dict[str, list[Hit]] = {}
    for h in hits:
        by_key.setdefault(hashlib.sha256(h.value.encode("utf-8", "surrogateescape")).hexdigest(), []).append(h)
    for f in findings:
        links: list[str] = []
        for h in by_key.get(f.key, []):
            if h.run_command:
                links += repo.for_run(h.run_command)
            if h.named and (
                "(ARG)" in h.where
                or "(ENV)" in h.where
                or "(RUN build arg)" in h.where
                or h.where in ("Env",)
                or h.where.startswith("Label")
            ):
                links += [x for x in repo.for_name(h.name) if "(RUN" not in h.where or "(ARG " in x]
        f.fix = list(dict.fromkeys(links))


def _from_specs(opener, target: str, opts: Options) -> list[ImageResult]:
    try:
        with opener as specs:
            if not specs:
                return [_error(target, f"{target}: no image in it")]
            return [audit_spec(s, opts) for s in specs]
    except SourceError as exc:
        return [_error(target, str(exc))]


def plan(targets: list[str], opts: Options) -> list[Unit]:
    units: list[Unit] = []
    for t in targets:
        units.append(_unit(t, opts))
    return units


def _unit(t: str, opts: Options) -> Unit:
    kind, _, rest = t.partition(":")
    if kind in ("docker-archive", "oci", "docker-daemon") and rest and not rest.startswith("//"):
        if kind == "docker-archive":
            return Unit(t, lambda: _from_specs(open_archive(rest), t, opts))
        if kind == "oci":
            return Unit(t, lambda: _from_specs(open_layout(rest), t, opts))
        return _local(rest, t, opts)
    if t.startswith("docker://"):
        return _registry(t[len("docker://") :], t, opts)
    if os.path.isdir(t):
        return Unit(t, lambda: _from_specs(open_layout(t), t, opts))
    if os.path.isfile(t):
        return Unit(t, lambda: _from_specs(open_archive(t), t, opts))
    if is_registry_target(t):
        return _registry(t, t, opts)
    return _local(t, t, opts)


def _local(name: str, target: str, opts: Options) -> Unit:
    def run() -> list[ImageResult]:
        if opts.layers:
            return _from_specs(saved_local_image(name), target, opts)
        try:
            spec = local_config_image(name)
        except SourceError as exc:
            return [_error(target, str(exc))]
        spec.target = target
        return [audit_spec(spec, opts)]

    return Unit(target, run)


def _registry(text: str, target: str, opts: Options) -> Unit:
    client = opts.client or AuditRegistry()

    def one(ref, reference: str, names: list[str]) -> list[ImageResult]:
        try:
            specs = client.images(target, ref, reference, names)
        except (RegistryError, SourceError) as exc:
            return [_error(names[0], str(exc))]
        return [audit_spec(s, opts) for s in specs] or [_error(names[0], f"{names[0]}: no image")]

    try:
        ref, every = parse_target(text)
    except SourceError as exc:
        msg = str(exc)
        return Unit(target, lambda: [_error(target, msg)])
    if not every:
        from refactor.supply.reference import ImageRef

        shown = ImageRef(ref.domain, ref.path, ref.tag, ref.digest).familiar
        return Unit(target, lambda: one(ref, ref.reference, [shown]))

    def expand() -> tuple[int, Iterator[Unit]]:
        from refactor.supply.reference import ImageRef

        tags = client.tags(ref)

        def units() -> Iterator[Unit]:
            for tag in tags:
                shown = ImageRef(ref.domain, ref.path, tag).familiar
                yield Unit(shown, partial(one, ref, tag, [shown]))

        return len(tags), units()

    return Unit(target, lambda: [], expand=expand)


@dataclass
class Progress:
    enabled: bool
    done: int = 0
    total: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def tick(self, done: int = 0, total: int = 0) -> None:
        if not self.enabled:
            return
        with self._lock:
            self.done += done
            self.total += total
            import sys

            width = shutil.get_terminal_size((80, 20)).columns
            sys.stderr.write(f"\r\x1b[Kdfix audit: {self.done}/{self.total} images"[: width + 4])
            sys.stderr.flush()

    def clear(self) -> None:
        if self.enabled:
            import sys

            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def run(targets: list[str], opts: Options, progress: Progress | None = None) -> Iterator[ImageResult]:
    """Audit every target; results are yielded as they complete (a bounded pool of ``jobs``
    threads; a registry repository's tags are listed first, then audited in the same pool)."""
    progress = progress or Progress(False)
    units = plan(targets, opts)
    with ThreadPoolExecutor(max_workers=max(1, opts.jobs)) as pool:
        pending: dict[Future, Unit] = {}
        queue: deque[Iterator[Unit]] = deque([iter(units)])  # a repository's tags go before the targets left
        progress.tick(total=sum(1 for u in units if u.expand is None))

        def take() -> Unit | None:
            while queue:
                u = next(queue[0], None)
                if u is not None:
                    return u
                queue.popleft()
            return None

        def fill() -> None:
            while len(pending) < opts.jobs * 2:
                u = take()
                if u is None:
                    return
                pending[pool.submit(u.expand if u.expand is not None else u.run)] = u

        fill()
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                u = pending.pop(fut)
                try:
                    out = fut.result()
                except (RegistryError, SourceError) as exc:
                    yield _error(u.label, str(exc))
                    continue
                except Exception as exc:  # noqa: BLE001 - one target's bug must not stop the others
                    yield _error(u.label, f"{u.label}: internal error ({type(exc).__name__})")
                    continue
                if u.expand is not None:
                    n, more = out
                    if not n:
                        yield _error(u.label, f"{u.label}: the repository has no tags")
                    progress.tick(total=n)
                    queue.appendleft(more)
                else:
                    progress.tick(done=1)
                    yield from out
            fill()
    progress.clear()
