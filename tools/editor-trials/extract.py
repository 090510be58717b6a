"""Print a fenced code block of a language under a heading of docs/editor.md (the first, or the
N-th with a third argument, counted from 1), so the trials run the documented set-up itself, not
a copy of it.

    python extract.py "## Neovim" lua        # the 0.11+ block
    python extract.py "## Neovim" lua 2      # the 0.8-0.10 block
"""

import pathlib
import re
import sys

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "editor.md"


def block(heading: str, lang: str, nth: int = 1) -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("\n" + heading)
    section = text[start + 1 :]
    nxt = re.search(r"^## ", section[3:], re.M)
    if nxt:
        section = section[: nxt.start() + 3]
    blocks = re.findall(r"^```" + re.escape(lang) + r"\n(.*?)^```", section, re.M | re.S)
    if len(blocks) < nth:
        raise SystemExit(f"no ```{lang} block number {nth} under {heading!r} in {DOC}")
    return blocks[nth - 1]


if __name__ == "__main__":
    sys.stdout.write(block(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 1))
