"""The gate between apply and write: every rewrite passes the independent rewrite check first.

The planner proposes; :mod:`refactor.fixes.check` (written without the planner's decisions)
compares the original with the rewrite. A fix whose rewrite fails the check is never applied, not
even with ``--unsafe-fixes``: it becomes display-only, and its reasons carry the check's words
(``rewrite check: line 5: RUN reads C …``). When several fixes of one file are applied together
and the whole fails, each is tried on its own on top of those already accepted (many: by halves),
so one bad fix does not take the good ones with it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from refactor.fixes.check import CheckResult, Violation, check_rewrite
from refactor.fixes.edit import Applicability

PREFIX = "rewrite check: "


def secrets_of(plans: Sequence) -> tuple[dict[str, str], dict[str, str]]:
    """(env secret id -> build-arg name, file secret id -> context path) for the given plans."""
    env: dict[str, str] = {}
    files: dict[str, str] = {}
    for p in plans:
        if any(r.item.kind == "ARG" for r in p.removals) or p.mounts:
            env[p.id] = p.name
        for spec in p.specs:
            if spec.type == "file" and spec.src:
                files[spec.id] = spec.src
            elif spec.env:
                env[spec.id] = spec.env
    return env, files


def safe_check(original: str, rewritten: str, secrets, **kw) -> CheckResult:
    """check_rewrite, where a crash of the check is a refusal (the fix is not applied), never a
    failed run."""
    try:
        return check_rewrite(original, rewritten, secrets, **kw)
    except RecursionError:
        msg = "the check could not follow this file (nesting too deep); the fix is not applied"
    except Exception as exc:  # noqa: BLE001 - a bug in the check must not cost the user the file
        msg = f"the check failed ({type(exc).__name__}, a dfix bug); the fix is not applied"
    return CheckResult((Violation("parse", 1, msg),), (), ())


def reason_of(res: CheckResult) -> str:
    """The reason a refused fix carries: the check's first violation, and how many more."""
    first = res.violations[0].message
    more = len(res.violations) - 1
    return PREFIX + first + (f" (and {more} more)" if more else "")


def gate(
    original: str,
    plans: list,
    render: Callable[[list], str],
    context: dict[str, str | None] | None,
    *,
    strategy: str = "mount",
    path: str = "Dockerfile",
) -> tuple[str, list]:
    """Return (text, accepted plans): the rewrite of the plans that pass the check together.

    ``render(plans)`` produces the rewritten text of a subset of ``plans``. A refused plan's fix
    is lowered to display-only with the check's reason."""
    if not plans:
        return original, []

    def check(subset: list) -> tuple[str, CheckResult]:
        text = render(subset)
        env, files = secrets_of(subset)
        allowed = [f for p in subset for f in p.removed_files]
        return text, safe_check(
            original, text, env, file_secrets=files, context_files=context, allowed_removals=allowed, strategy=strategy, path=path
        )

    text, res = check(plans)
    if res.ok:
        return text, plans
    if len(plans) == 1:
        plans[0].fix.lower(Applicability.DISPLAY_ONLY, reason_of(res))
        return original, []
    accepted: list = []
    if len(plans) <= ONE_BY_ONE:
        for p in plans:
            _t, r = check(accepted + [p])
            if r.ok:
                accepted.append(p)
            else:
                p.fix.lower(Applicability.DISPLAY_ONLY, reason_of(r))
    else:
        _halves(plans, res, accepted, check, [MAX_CHECKS])
    if not accepted:
        return original, []
    return render(accepted), accepted


# Up to this many fixes, a refused whole is retried one fix at a time, in order. Above it, by
# halves: a half that passes on top of those accepted is accepted whole, one that fails is split,
# so a few bad fixes among hundreds cost a few checks each. Each check reads the whole file, and
# one fix at a time was quadratic: 1,000 secret mounts on one RUN line, over BuildKit's 64 KiB
# line limit together, were 1,000 checks (87 s). At most MAX_CHECKS more checks are spent; the
# fixes not reached by then are refused (display-only), which is always safe.
ONE_BY_ONE = 8
MAX_CHECKS = 24


def _halves(group: list, failed: CheckResult, accepted: list, check, budget: list[int]) -> None:
    """Accept what of ``group`` (refused as a whole, ``failed`` saying why) passes on top of
    ``accepted``, splitting refused parts in two while ``budget[0]`` checks remain."""
    if len(group) == 1:
        group[0].fix.lower(Applicability.DISPLAY_ONLY, reason_of(failed))
        return
    mid = len(group) // 2
    for half in (group[:mid], group[mid:]):
        if budget[0] <= 0:
            why = reason_of(failed) + f" (refused together with other fixes; with {len(group)} of them left, not tried one by one)"
            for p in half:
                p.fix.lower(Applicability.DISPLAY_ONLY, why)
            continue
        budget[0] -= 1
        _t, r = check(accepted + half)
        if r.ok:
            accepted.extend(half)
        else:
            _halves(half, r, accepted, check, budget)
