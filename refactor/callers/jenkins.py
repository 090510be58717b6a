'''Jenkinsfiles: ``sh '…'``, ``sh "…"``, ``sh \'\'\'…\'\'\'``, ``sh """…"""``, ``sh(script: …)`` and the
Docker Pipeline ``docker.build(image, args)``.

The Groovy string is decoded (``\\$`` → a shell ``$``, ``\\\\`` → ``\\``, ``\\`` + newline joins lines
in triple-quoted strings) and mapped back to source offsets; new text is escaped for the string's
own quoting. In a double-quoted string, ``${X}``/``$X`` is a *Groovy* interpolation and ``\\$X`` a
shell variable:

* ``env.X``, ``environment { X = … }`` keys, ``withCredentials`` variables (``variable:``,
  ``usernameVariable:``, ``passwordVariable:`` …) and ``withEnv(["X=…"])`` are exported
  environment variables → ``--secret id=…,env=X`` with no prefix (this also stops the secret from
  being interpolated into the command line, which Jenkins warns about).
* Any other Groovy variable (``def token = …``, ``params.X``) is not in the environment → prefix
  ``NAME="${token}"`` (still a Groovy interpolation, as before; wrap it in ``withEnv`` to avoid it).

``docker.build(image, "--build-arg …")`` has no room for a prefix: it is migrated only when the
value is already in the environment. Paths resolve against the workspace (the repository root).
'''

from __future__ import annotations

import re

from refactor.codecache import regex

from .common import Found, cli_founds, rel
from .shell import Cmd, Host, Lexer, View, build_commands, commands, scope_of
from .shell_build import _parse_build

_IDENT = regex(r"[A-Za-z_][A-Za-z0-9_]*")


def _groovy_string(text: str, i: int) -> tuple[View, int] | None:
    """Decode the Groovy string literal starting at ``i``; return its view and end offset."""
    if text.startswith('"""', i) or text.startswith("'''", i):
        q = text[i : i + 3]
        triple = True
    elif text[i] in "'\"":
        q = text[i]
        triple = False
    else:
        return None
    interp = q[0] == '"'
    enc = {("'", False): "groovy-sq", ('"', False): "groovy-dq", ("'", True): "groovy-tsq", ('"', True): "groovy-tdq"}[(q[0], triple)]
    j = i + len(q)
    out: list[str] = []
    mp: list[int] = []
    groovy: set[int] = set()
    n = len(text)
    while j < n:
        if text.startswith(q, j):
            mp.append(j)
            return View("".join(out), map=mp, enc=enc, groovy=frozenset(groovy)), j + len(q)
        c = text[j]
        if c == "\n" and not triple:
            return None
        if c == "\\" and j + 1 < n:
            nx = text[j + 1]
            if nx == "\n" and triple:
                j += 2
                continue
            if nx == "\r" and text.startswith("\n", j + 2) and triple:
                j += 3
                continue
            rep = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "\\": "\\", "'": "'", '"': '"', "$": "$"}.get(nx)
            if rep is not None:
                out.append(rep)
                mp.append(j)
                j += 2
                continue
            out.append(c)
            mp.append(j)
            j += 1
            continue
        if c == "$" and interp:
            if text.startswith("{", j + 1):
                # ${ … } runs to its closing brace; copy it verbatim, marked as Groovy
                depth = 0
                k = j + 1
                while k < n:
                    if text[k] == "{":
                        depth += 1
                    elif text[k] == "}":
                        depth -= 1
                        if depth == 0:
                            break
                    k += 1
                groovy.add(len(out))
                for p in range(j, min(k + 1, n)):
                    out.append(text[p])
                    mp.append(p)
                j = k + 1
                continue
            if _IDENT.match(text, j + 1):
                groovy.add(len(out))
        out.append(c)
        mp.append(j)
        j += 1
    return None


def _strings(text: str):
    """(start, end, view) of every string literal outside comments, with the code before it."""
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
            continue
        if c in "'\"":
            r = _groovy_string(text, i)
            if r is None:
                i += 1
                continue
            view, end = r
            yield i, end, view
            i = end
            continue
        i += 1


_SH_BEFORE = regex(r"(?:^|[^\w.])sh\s*(?:\(\s*(?:script\s*:\s*)?)?$")
_DOCKER_BUILD = regex(r"docker\s*\.\s*build\s*\(\s*$")


def _env_names(text: str) -> frozenset[str]:
    names = set()
    for m in re.finditer(
        r"\b(?:variable|usernameVariable|passwordVariable|keyFileVariable|passphraseVariable|tokenVariable|secretVariable|sshUserPrivateKeyVariable)\s*:\s*['\"]([A-Za-z_][A-Za-z0-9_]*)['\"]",
        text,
    ):
        names.add(m.group(1))
    for m in re.finditer(r"\benvironment\s*\{", text):
        k = m.end()
        depth = 1
        while k < len(text) and depth:
            if text[k] == "{":
                depth += 1
            elif text[k] == "}":
                depth -= 1
            k += 1
        for line in text[m.end() : k].split("\n"):
            mm = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=", line)
            if mm:
                names.add(mm.group(1))
    for m in re.finditer(r"\bwithEnv\s*\(\s*\[([^\]]*)\]", text):
        for mm in re.finditer(r"['\"]([A-Za-z_][A-Za-z0-9_]*)=", m.group(1)):
            names.add(mm.group(1))
    return frozenset(names)


def find(path: str, text: str, root: str | None) -> list[Found]:
    env = _env_names(text)
    shown = rel(path, root)
    found: list[Found] = []
    subst = {"$WORKSPACE": ".", "${WORKSPACE}": ".", "${env.WORKSPACE}": "."}
    strings = list(_strings(text))
    for idx, (s, _e, view) in enumerate(strings):
        if "build" not in view.text:
            continue
        before = text[max(0, s - 80) : s]
        note = lambda n: f"store {n} as a Jenkins credential and bind it: withCredentials([string(credentialsId: '…', variable: '{n}')])"  # noqa: E731
        if _SH_BEFORE.search(before):
            cmds = commands(Lexer(view, "sh"))
            host = Host("jenkins", "sh", scope_of(cmds), groovy_env=env, where=f"{shown} sh step", literal_note=note)
            for bc in build_commands(cmds):
                if bc.args:
                    found.extend(cli_founds(path, "jenkins", view, bc, host, [root] if root is not None else None, subst))
            continue
        # docker.build("image", "--build-arg … .") : the second argument is the docker build argument list
        if (
            idx > 0
            and _DOCKER_BUILD.search(text[max(0, strings[idx - 1][0] - 80) : strings[idx - 1][0]])
            and re.fullmatch(r"\s*,\s*", text[strings[idx - 1][1] : s])
        ):
            lx = Lexer(view, "sh")
            words = [t.word for t in lx.tokens() if t.word is not None]
            if not words:
                continue
            cmd = Cmd(words, [], words, [], 0, words[0].start, words[-1].end)
            bc = _parse_build(cmd, "docker", words)
            if not bc.args:
                continue
            host = Host("jenkins", "sh", scope_of([]), groovy_env=env, allow_prefix=False, where=f"{shown} docker.build", literal_note=note)
            found.extend(cli_founds(path, "jenkins", view, bc, host, [root] if root is not None else None, subst))
    return found
