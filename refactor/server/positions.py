"""Text offsets <-> LSP positions.

dfix offsets are code-point indexes into ``SourceFile.text`` (the file without its BOM, newlines
untranslated); findings carry 1-based lines split on ``\\n`` only and 1-based code-point columns.
An LSP ``Position`` is a 0-based line, where a line ends at ``\\r\\n``, ``\\n`` *or a lone* ``\\r``
(the specification's three terminators, nothing else: not U+2028, not form feed), and a character
offset counted in the negotiated encoding's code units: UTF-16 by default (an astral character is
two units), or UTF-8 bytes / UTF-32 code points when the client asked for them.

``LineIndex`` is built over the editor's document text. When that text starts with a BOM the
engine's offsets are shifted by one (the BOM is one code point, one UTF-16 unit, three UTF-8 bytes).
"""

from __future__ import annotations

import bisect

from lsprotocol import types

from refactor.codecache import regex

BOM = "\ufeff"
_BREAK = regex(r"\r\n|\r|\n")


def _units(s: str, encoding: str) -> int:
    if encoding == "utf-32":
        return len(s)
    if encoding == "utf-8":
        return len(s.encode("utf-8", "surrogatepass"))
    # utf-16: one unit per BMP code point, two per astral code point
    if s.isascii():
        return len(s)
    return len(s) + sum(1 for ch in s if ord(ch) > 0xFFFF)


def _offset_of_units(line: str, units: int, encoding: str) -> int:
    """The code-point index in ``line`` after ``units`` code units (clamped to the line; a
    position inside a surrogate pair or a UTF-8 sequence rounds up to the next character)."""
    if units <= 0:
        return 0
    if encoding == "utf-32" or line.isascii():
        return min(units, len(line))
    n = 0
    for i, ch in enumerate(line):
        if n >= units:
            return i
        cp = ord(ch)
        if encoding == "utf-8":
            n += 1 if cp < 0x80 else 2 if cp < 0x800 else 3 if cp < 0x10000 else 4
        else:
            n += 2 if cp > 0xFFFF else 1
    return len(line)


class LineIndex:
    """Positions of one document's text (as the editor holds it)."""

    def __init__(self, text: str, encoding: str = "utf-16") -> None:
        self.text = text
        self.encoding = str(encoding)
        if self.encoding not in ("utf-8", "utf-16", "utf-32"):
            self.encoding = "utf-16"
        self.bom = 1 if text.startswith(BOM) else 0
        starts = [0]
        ends = []  # offset where each line's content ends (before its terminator)
        for m in _BREAK.finditer(text):
            ends.append(m.start())
            starts.append(m.end())
        ends.append(len(text))
        self.starts = starts
        self.ends = ends
        # engine line starts (split on "\n" only, BOM excluded) for findings' (line, column)
        body = text[self.bom :]
        nl = [0]
        i = body.find("\n")
        while i != -1:
            nl.append(i + 1)
            i = body.find("\n", i + 1)
        self._engine_starts = nl

    # --- document offsets (into ``text``, BOM included) ---------------------------------------
    def position(self, offset: int) -> types.Position:
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self.starts, offset) - 1
        start = self.starts[line]
        end = self.ends[line]
        if offset > end:  # inside a "\r\n": the end of the line's content
            offset = end
        return types.Position(line=line, character=_units(self.text[start:offset], self.encoding))

    def offset(self, pos: types.Position) -> int:
        if pos.line < 0:
            return 0
        if pos.line >= len(self.starts):
            return len(self.text)
        start, end = self.starts[pos.line], self.ends[pos.line]
        return start + _offset_of_units(self.text[start:end], pos.character, self.encoding)

    # --- engine offsets (into SourceFile.text: no BOM) ----------------------------------------
    def engine_position(self, offset: int) -> types.Position:
        return self.position(offset + self.bom)

    def engine_range(self, start: int, end: int) -> types.Range:
        return types.Range(start=self.engine_position(start), end=self.engine_position(end))

    def engine_offset(self, pos: types.Position) -> int:
        return max(0, self.offset(pos) - self.bom)

    def engine_offset_of(self, line: int, column: int) -> int:
        """The engine offset of a finding's 1-based (line, code-point column)."""
        starts = self._engine_starts
        if line < 1:
            return 0
        if line > len(starts):
            return len(self.text) - self.bom
        return min(starts[line - 1] + max(column, 1) - 1, len(self.text) - self.bom)
