"""Linear matching of "a command word, then one of its options" (hardening round two, point 10).

Patterns like ``curl`` + *the rest of the simple command, lazily, at most 512 characters* +
``-u VALUE`` cost the regex engine up to 512 steps for every command word: a megabyte of
``curl curl curl …`` took ten seconds. :class:`GapPattern` matches exactly what the regex

    HEAD (?:LEAD GAP{0,limit}?)?? TAIL        (LEAD optional, see below)

matches, where GAP is one character outside ``stops`` or (``continuation``) a backslash-newline
pair, but finds every HEAD once, every position where TAIL matches once, and joins them with a
binary search: linear in the text. ``finditer`` yields match objects with the groups of HEAD
first, then those of TAIL (numbered as in the full regex when HEAD's groups come first), so it
replaces ``re.Pattern.finditer`` for these patterns. ``reference`` is the full regex, for tests.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from functools import cached_property

from refactor.codecache import regex

_CLASS_ESC = {"\n": r"\n", "\t": r"\t", "\\": r"\\", "]": r"\]", "^": r"\^", "-": r"\-"}


class GapMatch:
    """The parts of ``re.Match`` callers use: ``group``, ``start``, ``end``, ``span``, ``lastindex``."""

    __slots__ = ("_head", "_n", "_tail")

    def __init__(self, head: re.Match, tail: re.Match) -> None:
        self._head = head
        self._tail = tail
        self._n = head.re.groups

    def _part(self, i: int) -> tuple[re.Match, int]:
        return (self._head, i) if i <= self._n else (self._tail, i - self._n)

    def group(self, i: int = 0):
        if i == 0:
            return self._head.string[self.start() : self.end()]
        m, j = self._part(i)
        return m.group(j)

    def start(self, i: int = 0) -> int:
        if i == 0:
            return self._head.start()
        m, j = self._part(i)
        return m.start(j)

    def end(self, i: int = 0) -> int:
        if i == 0:
            return self._tail.end()
        m, j = self._part(i)
        return m.end(j)

    def span(self, i: int = 0) -> tuple[int, int]:
        return self.start(i), self.end(i)

    @property
    def lastindex(self) -> int | None:
        if self._tail.lastindex is not None:
            return self._n + self._tail.lastindex
        return self._head.lastindex


class GapPattern:
    """See the module docstring. The regexes are compiled on first use: most of the patterns of a
    module are never needed for a given Dockerfile, and compiling them all at import was a tenth
    of a one-file run."""

    def __init__(
        self, head: str, tail: str, *, limit: int, stops: str = "\n;|&", continuation: bool = True, lead: str | None = None, flags: int = 0
    ) -> None:
        self._source = (head, tail, lead, flags)
        self.limit = limit
        self.stops = stops
        self.continuation = continuation
        cls = "[^" + "".join(_CLASS_ESC.get(c, c) for c in stops) + "]"
        gap = f"(?:{cls}|\\\\\\n)" if continuation else cls
        body = f"{gap}{{0,{limit}}}?"
        if lead:
            body = f"(?:{lead}{body})??"
        self.pattern = head + body + tail  # the full regex's text

    @cached_property
    def reference(self) -> re.Pattern:
        """The full regex (for tests: what ``finditer`` must match)."""
        return re.compile(self.pattern, self._source[3])

    @cached_property
    def head(self) -> re.Pattern:
        return re.compile(self._source[0], self._source[3])

    @cached_property
    def tail(self) -> re.Pattern:
        return re.compile(self._source[1], self._source[3])

    @cached_property
    def _tail_at(self) -> re.Pattern:
        return re.compile("(?=" + self._source[1] + ")", self._source[3])

    @cached_property
    def _lead(self) -> re.Pattern | None:
        lead, flags = self._source[2], self._source[3]
        return re.compile(lead, flags) if lead else None

    @cached_property
    def _stop_re(self) -> re.Pattern:
        return re.compile("[" + re.escape(self.stops) + "]")

    def finditer(self, text: str, pos: int = 0):
        tails: list[int] | None = None
        hard: list[int] = []
        soft: list[int] = []  # a newline after a backslash: passable when the backslash is in the gap
        pos_h = pos
        while True:
            hm = self.head.search(text, pos_h)
            if hm is None:
                return
            if tails is None:  # computed once, on the first command word
                tails = [m.start() for m in self._tail_at.finditer(text, pos)]
                for m in self._stop_re.finditer(text, pos):
                    i = m.start()
                    if self.continuation and text[i] == "\n" and i > 0 and text[i - 1] == "\\":
                        soft.append(i)
                    else:
                        hard.append(i)
            tm = self._after(text, hm.end(), tails, hard, soft)
            if tm is None:
                pos_h = hm.start() + 1
                if pos_h > len(text):
                    return
                continue
            yield GapMatch(hm, tm)
            pos_h = tm.end() if tm.end() > hm.start() else hm.start() + 1

    def _after(self, text: str, h: int, tails: list[int], hard: list[int], soft: list[int]):
        k = bisect_left(tails, h)
        if k < len(tails) and tails[k] == h:
            return self.tail.match(text, h)  # the gap may be empty
        if self._lead is not None:
            lm = self._lead.match(text, h)
            if lm is None or lm.end() == h:
                return None
            h = lm.end()
            k = bisect_left(tails, h)
        if k >= len(tails):
            return None
        p = tails[k]
        # a stop character inside the gap ends the command; a backslash-newline does not, unless
        # its backslash lies before the gap
        j = bisect_left(hard, h)
        if j < len(hard) and hard[j] < p:
            return None
        a, b = bisect_left(soft, h), bisect_left(soft, p)
        passable = b - a
        if a < b and soft[a] == h:
            return None  # the newline starts the gap: its backslash is not in it
        if (p - h) - passable > self.limit:
            return None
        return self.tail.match(text, p)


def word_in_run_starts(text: str, word: re.Pattern, run: re.Pattern):
    """The starts of ``WORD[class]*END`` matches (what ``finditer`` of that regex yields), where
    ``run`` is ``(?<![class])[class]++END`` and every word lies inside a run: each match starts at
    the leftmost word of a run that ``END`` follows. The regex tried every word of a run, each to
    the run's end: quadratic in a run like ``passpasspass…``."""
    for r in run.finditer(text):
        m = word.search(text, r.start(), r.end())
        if m is not None:
            yield m.start()


class RunScan:
    """``finditer`` of ``pattern``, which starts with ``anchor`` and goes on with ``\\.\\S+`` (the
    ``branch`` character, then the rest of a run of non-space characters), trying ``pattern`` at
    most once per run: when it fails at an anchor followed by ``branch``, it fails at every later
    such anchor of the same run (their ``\\S+`` can only end where the first one's could), so those
    are skipped. Linear where the regex rescanned the run from every anchor (``http-basic.`` repeated n times)."""

    def __init__(self, pattern: str, anchor: str, flags: int = 0, branch: str = ".") -> None:
        self.pattern = pattern
        self._source = (anchor, flags)
        self._branch = branch

    @cached_property
    def reference(self) -> re.Pattern:
        return re.compile(self.pattern, self._source[1])

    @cached_property
    def _anchor(self) -> re.Pattern:
        return re.compile(*self._source)

    def finditer(self, text: str, pos: int = 0):
        skip = -1  # branch anchors before this offset lie in a run whose first one failed
        for a in self._anchor.finditer(text, pos):
            i = a.start()
            if i < pos:
                continue
            on_branch = text.startswith(self._branch, a.end())
            if on_branch and i < skip:
                continue
            m = self.reference.match(text, i)
            if m is not None:
                yield m
                pos = m.end() if m.end() > i else i + 1
            elif on_branch:
                e = _SPACE.search(text, a.end())
                skip = len(text) if e is None else e.start()


_SPACE = regex(r"\s")
