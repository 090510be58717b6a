#!/usr/bin/env bash
# Try `dfix server` in a real editor, headless, with the set-up docs/editor.md documents (the
# config block is extracted from the doc, not copied), and check the fixed file equals what
# `dfix --write` writes for the same project.
#
#   tools/editor-trials/run.sh nvim  [quickfix|fixall]   # $NVIM, default: nvim on PATH (0.11+);
#                                                        # NVIM_BLOCK=2: the doc's 0.8-0.10 block
#   tools/editor-trials/run.sh emacs [quickfix|fixall]   # $EMACS, default: emacs on PATH (29+);
#                                                        # $DOCKERFILE_MODE_DIR: dockerfile-mode's folder
#   tools/editor-trials/run.sh helix [quickfix|fixall]   # $HX, default: hx on PATH; tmux; see helix/trial.sh
#
# The project is fixture/ copied to a new temporary git repository (Dockerfile with ARG NPM_TOKEN
# and RUN npm ci, no secret value anywhere). `dfix` must be on PATH (the repository's .venv/bin is
# put first when it exists). Exit 0 when the editor's result equals the CLI's, byte for byte.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
[ -x "$ROOT/.venv/bin/dfix" ] && export PATH="$ROOT/.venv/bin:$PATH"
editor=${1:?usage: run.sh nvim|emacs|helix [quickfix|fixall]}
mode=${2:-quickfix}
PY=${PYTHON:-python3}

T=$(mktemp -d /tmp/dfix-editor-trial.XXXXXX)
mkdir "$T/proj" "$T/cli"
cp "$HERE"/fixture/* "$T/proj/"
git -C "$T/proj" init -q
cp -a "$T/proj/." "$T/cli/"
(cd "$T/cli" && dfix --write Dockerfile >/dev/null 2>&1) || true
echo "trial dir: $T"
echo "dfix: $(command -v dfix) ($(dfix --version))"

case "$editor" in
  nvim)
    NVIM=${NVIM:-nvim}
    "$PY" "$HERE/extract.py" "## Neovim" lua "${NVIM_BLOCK:-1}" >"$T/init.lua"
    (cd "$T/proj" && DFIX_TRIAL_MODE=$mode timeout 120 "$NVIM" --headless -u "$T/init.lua" -i NONE -n \
      -c "luafile $HERE/nvim/trial.lua" Dockerfile </dev/null) 2>"$T/nvim.stderr" || {
      echo "nvim failed ($?); stderr:"; cat "$T/nvim.stderr"; exit 1; }
    ;;
  emacs)
    EMACS=${EMACS:-emacs}
    "$PY" "$HERE/extract.py" "## Emacs" elisp >"$T/init.el"
    (cd "$T/proj" && DFIX_TRIAL_MODE=$mode timeout 120 "$EMACS" --batch -Q -l "$T/init.el" \
      -l "$HERE/emacs/trial.el" </dev/null) || { echo "emacs failed ($?)"; exit 1; }
    ;;
  helix)
    HX=${HX:-hx} bash "$HERE/helix/trial.sh" "$T" "$mode" || { echo "helix failed ($?)"; exit 1; }
    ;;
  *) echo "unknown editor $editor"; exit 2 ;;
esac

if cmp -s "$T/proj/Dockerfile" "$T/cli/Dockerfile"; then
  echo "RESULT: $editor $mode: the editor's Dockerfile equals dfix --write's, byte for byte"
else
  echo "RESULT: $editor $mode: DIFFERS from dfix --write:"
  diff -u "$T/cli/Dockerfile" "$T/proj/Dockerfile" || true
  exit 1
fi
