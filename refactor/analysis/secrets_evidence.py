"""The records of the secret classifier (:mod:`refactor.analysis.secrets`): a piece of
:class:`Evidence` (kind, weight, reason; never a value) and the :class:`Verdict`, with the score a
verdict needs (``THRESHOLD``) and the use weight that decides alone (``USE_DECISIVE``).
"""

from __future__ import annotations

from refactor.records import dataclass

THRESHOLD = 2.0
USE_DECISIVE = 2.0  # summed use weight from which a use alone makes the variable a secret


@dataclass(frozen=True, slots=True)
class Evidence:
    kind: str  # "name" | "value" | "use" | "config"
    weight: float  # positive = towards secret, negative = towards not secret
    reason: str  # short human text; never contains the value


@dataclass(frozen=True)
class Verdict:
    secret: bool
    score: float
    evidence: tuple[Evidence, ...]
    # The default is a committed real-looking credential (rotate it): is_literal_secret(value), and
    # the verdict is secret or the name is a public-bundle variable; False under allow-names.
    literal: bool
