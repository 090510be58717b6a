#!/usr/bin/env bash
# Helix trial of `dfix server` (run by ../run.sh helix [quickfix|fixall]): Helix has no batch mode,
# so it runs in a detached tmux session and is driven with send-keys, its screen read with
# capture-pane and its LSP traffic with `hx -v --log`. The languages.toml is the toml block of
# docs/editor.md (under $XDG_CONFIG_HOME/helix), nothing added. Needs tmux; $HX (default hx), and
# $HELIX_RUNTIME when hx is not installed where it looks for its runtime.
#   quickfix: on the ARG line, `x` (select the line) then `space a`, the "Mount …" action
#   fixall:   at the top of the file, `space a`, the "Fix all safe dfix findings" action
# Both: the build command with :lsp-workspace-command (Helix shows no code lens), :w, :q.
set -euo pipefail
T=${1:?trial dir}
MODE=${2:-quickfix}
HERE=$(cd "$(dirname "$0")" && pwd)
HX=${HX:-hx}
S=dfix-trial-$$
mkdir -p "$T/hxconfig/helix"
"${PYTHON:-python3}" "$HERE/../extract.py" "## Helix" toml >"$T/hxconfig/helix/languages.toml"
export XDG_CONFIG_HOME="$T/hxconfig"
say() { echo "TRIAL: $*"; }
screen() { tmux capture-pane -p -t "$S"; }
wait_for() { # wait_for SECONDS PATTERN: poll the screen for an extended regexp
  local until=$((SECONDS + $1))
  while [ $SECONDS -lt $until ]; do screen | grep -Eq -- "$2" && return 0; sleep 0.2; done
  return 1
}
keys() { tmux send-keys -t "$S" "$@"; sleep 0.4; }
cmdline() { keys Escape; tmux send-keys -t "$S" -l -- "$1"; sleep 0.2; keys Enter; }
fail() { say "FAIL $*"; screen | sed 's/^/  | /'; tmux kill-session -t "$S" 2>/dev/null || true; exit 1; }

say "$("$HX" --version), mode $MODE"
"$HX" --health dockerfile 2>&1 | sed -n '/language servers/,/debug adapter/p' | sed 's/\x1b\[[0-9;]*m//g; s/^/TRIAL: health | /'

tmux new-session -d -s "$S" -x 160 -y 30 \
  "cd '$T/proj' && exec '$HX' -v --log '$T/hx.log' Dockerfile"
wait_for 20 'ARG NPM_TOKEN is a secret' || fail "no dfix diagnostic on screen within 20 s"
say "diagnostic on screen: $(screen | grep -E 'ARG NPM_TOKEN +ARG' | sed 's/  */ /g' | cut -c1-150)"

keys 4 g g
keys Space a
wait_for 5 'Fix all safe dfix findings' || fail "no code action menu"
# (the screen also shows the diagnostic's own "fix (safe): Mount …" line: read the answer in the log)
id=$(grep -o 'dfix -> {"jsonrpc":"2.0","method":"textDocument/codeAction".*"id":[0-9]*' "$T/hx.log" | tail -1 | grep -o '[0-9]*$')
grep -E "dfix <- \{\"id\": $id," "$T/hx.log" | grep -q 'Mount NPM_TOKEN as a BuildKit secret' && on_line=yes || on_line=no
say "space a with the cursor at the start of the ARG line: quick fix listed: $on_line"
keys Escape

if [ "$MODE" = fixall ]; then
  keys g g
  keys Space a
  wait_for 5 'Fix all safe dfix findings' || fail "no fix-all action"
  target='Fix all safe dfix findings'
else
  keys 4 g g
  keys x # select the line: the request's range then covers the finding
  keys Space a
  wait_for 5 'Mount NPM_TOKEN as a BuildKit secret' || fail "the quick fix is not offered"
  target='Mount NPM_TOKEN as a BuildKit secret'
fi
# the menu's entries, in order; move down to the target, Enter
mapfile -t items < <(screen | grep -oE '(Mount NPM_TOKEN as a BuildKit secret[^│]*build arg|Ignore DF001 for this instruction|Ignore DF001/DF002 and BuildKit.s SecretsUsedInArgOrEnv in this file|Fix all safe dfix findings)')
for i in "${!items[@]}"; do say "code action $i: ${items[$i]}"; done
screen | sed -n '/ARG NPM_TOKEN$/,/RUN npm ci/p' | sed 's/^/TRIAL: menu | /'
for i in "${!items[@]}"; do
  case "${items[$i]}" in "$target"*) break ;; esac
  keys Down
done
keys Enter
wait_for 5 'RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci' || fail "the action changed nothing"
say "applied"
until=$((SECONDS + 10))
while [ $SECONDS -lt $until ]; do # the last diagnostics dfix published are empty
  last=$(grep 'dfix <- .*publishDiagnostics' "$T/hx.log" | tail -1 || true)
  case "$last" in *'"diagnostics": []'*) break ;; esac
  sleep 0.2
done
case "$last" in *'"diagnostics": []'*) say "diagnostics after the fix: 0" ;; *) fail "diagnostics did not clear" ;; esac

cmdline ':lsp-workspace-command dfix.showBuildCommand "file://%{file_path_absolute}"'
wait_for 5 'docker build --secret id=npm_token,env=NPM_TOKEN' || fail "no build command shown"
say "build command (status line): $(screen | tail -1)"

cmdline ':write'
cmdline ':quit'
until=$((SECONDS + 10))
while tmux has-session -t "$S" 2>/dev/null && [ $SECONDS -lt $until ]; do sleep 0.2; done
tmux kill-session -t "$S" 2>/dev/null || true
say "written $T/proj/Dockerfile"
