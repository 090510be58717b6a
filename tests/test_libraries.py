"""What dfix relies on in the libraries that read files for it, pinned here so that an upgrade
inside the bounds of pyproject.toml that changes it fails in this file first, with the reason:

* pathspec, through :mod:`refactor.ignorespec` (``.gitignore`` of both discoveries, a build
  context's ``.dockerignore``);
* tree-sitter-hcl, through :func:`refactor.callers.bake.parse_hcl` (bake files: byte spans become
  character spans, ERROR and MISSING nodes reject the file);
* tree-sitter-bash (``RUN`` analysis: node types, byte spans, ``has_error``).

The caller shell lexer (:mod:`refactor.callers.shell`) stays hand-written: tree-sitter-bash's tree
differs from the shell where callers need exact words (a ``\\<newline>`` inside a word splits it in
the tree, a ``-`` before ``<<EOF`` has no node, words after a redirection are filed under it, a
heredoc ends at ``EOF;``). The last tests pin the words that lexer gives for those inputs, so a
replacement has to keep them.
"""

from __future__ import annotations

import os

import pytest

from refactor import ignorespec
from refactor.buildspec import SecretSpec
from refactor.callers import Target, find_in_text, plan_file
from refactor.callers.bake import _parser as hcl_parser
from refactor.callers.bake import parse_hcl
from refactor.fixes.edit import apply_edits

# ---------------------------------------------------------------------------- ignore files


def test_ignore_file_that_cannot_be_read_is_no_spec(tmp_path) -> None:
    assert ignorespec.load(str(tmp_path / ".gitignore")) is None
    (tmp_path / ".gitignore").mkdir()
    assert ignorespec.in_dir(str(tmp_path)) is None


GITIGNORE = "  .env  \n*.log\n!keep.log\nbuild/\n/top.txt\n# c\n\\#hash\nsp\\ ace\n"


@pytest.mark.parametrize("path,ignored", [
    ("a.log", True), ("sub/a.log", True), ("keep.log", False),  # negation
    ("build/", True), ("x/build/y", True), ("build", False),  # a directory pattern matches directories
    ("top.txt", True), ("sub/top.txt", False),  # anchored
    ("# c", False), ("#hash", True), ("sp ace", True),  # comments and escapes
    (".env", False),  # gitignore keeps leading blanks: "  .env" is another name
])
def test_gitignore_rules(path: str, ignored: bool) -> None:
    assert ignorespec.spec_of(GITIGNORE).match_file(path) is ignored


@pytest.mark.parametrize("path,ignored", [(".env", True), (".netrc", False), ("k.pem", True), ("ok.pem", False)])
def test_dockerignore_lines_are_stripped_and_comments_dropped(path: str, ignored: bool) -> None:
    spec = ignorespec.spec_of("  .env  \n# .netrc\n*.pem\n!ok.pem\n", dockerignore=True)
    assert spec.match_file(path) is ignored


def test_specs_are_cached_by_content_and_never_stale(tmp_path) -> None:
    gi = tmp_path / ".gitignore"
    gi.write_bytes(b"\xff\n*.log\n")  # undecodable bytes are replaced, not an error
    first = ignorespec.in_dir(str(tmp_path))
    assert first is ignorespec.in_dir(str(tmp_path)) and first.match_file("a.log")
    gi.write_text("*.txt\n")
    second = ignorespec.in_dir(str(tmp_path))
    assert second is not first and second.match_file("a.txt") and not second.match_file("a.log")


def _tree(tmp_path) -> None:
    files = {
        ".gitignore": "Dockerfile.*\n!Dockerfile.keep\nignored/\n",
        "Dockerfile": "FROM scratch\n", "Dockerfile.prod": "FROM scratch\n", "Dockerfile.keep": "FROM scratch\n",
        "ignored/Dockerfile": "FROM scratch\n",
        "sub/.gitignore": "Dockerfile\nbuild.sh\n",
        "sub/Dockerfile": "FROM scratch\n", "sub/Dockerfile.keep": "FROM scratch\n",
        "build.sh": "docker build --build-arg NPM_TOKEN .\n",
        "ignored/build.sh": "docker build --build-arg NPM_TOKEN .\n",
        "sub/build.sh": "docker build --build-arg NPM_TOKEN .\n",
        "sub/deep/build.sh": "docker build --build-arg NPM_TOKEN .\n",
    }
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def test_nested_gitignores_in_both_discoveries(tmp_path) -> None:
    """A .gitignore applies under its directory, a deeper one adds to it, and a root negation
    (`!Dockerfile.keep`) re-includes at every depth; Dockerfile and caller discovery agree."""
    from refactor import callers
    from refactor.discovery import discover

    _tree(tmp_path)
    found = sorted(os.path.relpath(c.path, tmp_path) for c in discover([str(tmp_path)]))
    assert found == ["Dockerfile", "Dockerfile.keep", os.path.join("sub", "Dockerfile.keep")]
    root = os.path.realpath(tmp_path)
    scripts = sorted(os.path.relpath(i.path, root) for i in callers.discover(str(tmp_path)))
    assert scripts == ["build.sh"]  # `build.sh` in sub/.gitignore matches sub/deep/build.sh as well


# ---------------------------------------------------------------------------- tree-sitter-hcl


def test_hcl_grammar_loads() -> None:
    from tree_sitter import LANGUAGE_VERSION, MIN_COMPATIBLE_LANGUAGE_VERSION

    lang = hcl_parser().language
    assert MIN_COMPATIBLE_LANGUAGE_VERSION <= lang.abi_version <= LANGUAGE_VERSION


HCL = (
    '# café\r\n'
    'variable "TÖKEN" {\r\n  default = ""\r\n}\r\n'
    'target "app-ü" {\r\n'
    '  /* block */ context = "."\r\n'
    '  note = <<-EOT\r\n    ünïcode ${x}\r\n    EOT\r\n'
    '  args = {\r\n'
    '    NPM_TOKEN = TOKEN  // from the environment, ü\r\n'
    '    "QUOTED" = "${CI_NPM}",\r\n'
    '    N: 1\r\n'
    '  }\r\n'
    '  secret = ["id=a,env=A", # first\r\n    "id=b,env=B"]\r\n'
    '}\r\n'
)


def test_hcl_spans_are_character_offsets() -> None:
    attrs, blocks = parse_hcl(HCL)
    assert attrs == {} and [(b.type, b.labels) for b in blocks] == [("variable", ["TÖKEN"]), ("target", ["app-ü"])]
    t = blocks[1]
    assert HCL[t.start : t.end].startswith('target "app-ü" {') and HCL[t.start : t.end].endswith("}")
    assert list(t.attrs) == ["context", "note", "args", "secret"]
    assert HCL[t.attrs["context"].start : t.attrs["context"].end] == 'context = "."'
    note = t.attrs["note"].value
    assert (note.kind, note.text) == ("str", "<<-EOT\r\n    ünïcode ${x}\r\n    EOT")
    args = t.attrs["args"]
    assert HCL[args.start : args.end] == HCL[HCL.index("args = {") : HCL.index("  }\r\n") + 3]
    got = [(e.key, HCL[e.start : e.end], e.value.kind, e.value.text) for e in args.value.entries]
    assert got == [
        ("NPM_TOKEN", "NPM_TOKEN = TOKEN", "ident", "TOKEN"),
        ("QUOTED", '"QUOTED" = "${CI_NPM}"', "str", '"${CI_NPM}"'),
        ("N", "N: 1", "other", "1"),
    ]
    secret = t.attrs["secret"].value
    assert secret.kind == "list" and [HCL[i.start : i.end] for i in secret.entries] == ['"id=a,env=A"', '"id=b,env=B"']


@pytest.mark.parametrize("value,kind", [
    ("NPM_TOKEN", "ident"), ('"${X}"', "str"), ('"lit"', "str"), ('"${A}-${B}"', "str"), ("<<EOT\nx\nEOT", "str"),
    ("true", "ident"), ("null", "ident"), ("1", "other"), ("-1", "other"), ("{ a = 1 }", "obj"), ('["a"]', "list"),
    ("[for x in y: x]", "other"), ("f(x)", "other"), ("var.x", "other"), ('"a" == "b" ? x : y', "other"),
])
def test_hcl_value_kinds(value: str, kind: str) -> None:
    parsed = parse_hcl(f'target "t" {{\n  v = {value}\n}}\n')
    assert parsed is not None
    node = parsed[1][0].attrs["v"].value
    assert (node.kind, node.text) == (kind, value)


HCL_BROKEN = [  # (text, whether tree-sitter-hcl itself reports the error)
    ('target "app" {\n  args = \n', True),  # an ERROR node
    ('target "app" {\n', True),  # only a MISSING "}": tree-sitter counts it as an error
    ('target "app" {\n  x = "abc\n}\n', True),  # unterminated string
    ('target "app" {\n  x = <<EOT\nhi\n}\n', True),  # unterminated heredoc
    ('}\n', True),
    ('target "a" {\n  x = a b c\n}\n', True),
    ('target "a" {\n  x = "\x00"\n}\n', True),
    # HCL wants a line break after each attribute; the grammar does not check it, dfix does
    ('target "a" {\n  context = "."  args = { NPM_TOKEN = NPM_TOKEN }\n}\n', False),
]


@pytest.mark.parametrize("text,grammar_error", HCL_BROKEN)
def test_hcl_with_errors_is_not_read(text: str, grammar_error: bool) -> None:
    assert hcl_parser().parse(text.encode()).root_node.has_error is grammar_error
    assert parse_hcl(text) is None
    assert find_in_text("/r/docker-bake.hcl", text, "bake-hcl") == []


def test_hcl_rewrite_is_byte_exact_after_non_ascii_and_crlf() -> None:
    before = HCL
    invs = find_in_text("/r/docker-bake.hcl", before, "bake-hcl")
    specs = {"NPM_TOKEN": SecretSpec("npm_token", "env", "NPM_TOKEN")}
    plan = plan_file("/r/docker-bake.hcl", before, [Target(i, specs) for i in invs])
    after = apply_edits(before, plan.edits)
    assert after == before.replace("    NPM_TOKEN = TOKEN  // from the environment, ü\r\n", "").replace(
        '    "id=b,env=B"]', '    "id=b,env=B", "id=npm_token,env=TOKEN"]')
    assert parse_hcl(after) is not None


def test_hcl_for_expression_secret_is_not_extended() -> None:
    text = 'target "a" {\n  args = { NPM_TOKEN = T }\n  secret = [for s in ["x"]: s]\n}\n'
    invs = find_in_text("/r/docker-bake.hcl", text, "bake-hcl")
    plan = plan_file("/r/docker-bake.hcl", text, [Target(i, {"NPM_TOKEN": SecretSpec("npm_token", "env", "NPM_TOKEN")}) for i in invs])
    assert "not a literal list" in " ".join(plan.unmigratable)
    assert "[for s in" in apply_edits(text, plan.edits)


# ---------------------------------------------------------------------------- tree-sitter-bash


def _bash(text: str):
    from refactor.analysis.shell import _parser

    data = text.encode()
    return data, _parser().parse(data).root_node


def _walk(node):
    yield node
    for c in node.children:
        yield from _walk(c)


def test_bash_command_words_and_spans() -> None:
    text = (
        "# é\r\n"
        "docker build --build-arg \"A=$(cat \"$F\")\" 'b c' d\"e\"f \\\r\n  --x=${Y:-z} .  # tail\r\n"
        "cat <<'EOF' | sh\r\nnot_a_command $(neither)\r\nEOF\r\n"
        "X=1 env\r\n"
    )
    data, root = _bash(text)
    assert not root.has_error
    cmds = [n for n in _walk(root) if n.type == "command"]
    names = [data[c.child_by_field_name("name").start_byte : c.child_by_field_name("name").end_byte].decode() for c in cmds]
    assert names == ["docker", "cat", "cat", "sh", "env"]  # the one inside $(…) too, none from the heredoc body
    docker = cmds[0]
    args = [data[k.start_byte : k.end_byte].decode() for k in docker.children if k.type not in ("command_name", "comment")]
    assert args == ["build", "--build-arg", '"A=$(cat "$F")"', "'b c'", 'd"e"f', "--x=${Y:-z}", "."]
    assert [k.type for k in docker.children[1:]] == ["word", "word", "string", "raw_string", "concatenation", "concatenation", "word"]
    body = next(n for n in _walk(root) if n.type == "heredoc_body")
    assert data[body.start_byte : body.end_byte] == b"not_a_command $(neither)\r\n"
    assign = next(n for n in _walk(root) if n.type == "variable_assignment")
    assert data[assign.start_byte : assign.end_byte] == b"X=1" and assign.parent.type == "command"


def test_bash_expansions_name_their_variables() -> None:
    data, root = _bash('echo "$A" ${B:-x} ${C[0]} $1 "${#D}"\n')
    names = [data[n.start_byte : n.end_byte].decode() for n in _walk(root) if n.type == "variable_name"]
    assert names == ["A", "B", "C", "1", "D"]
    assert [n.type for n in _walk(root) if n.type in ("simple_expansion", "expansion")] == ["simple_expansion", "expansion", "expansion", "simple_expansion", "expansion"]


@pytest.mark.parametrize("text", ['echo "abc\n', "echo $(date\n", "if true; then echo\n", "case x in\n", "docker build --build-arg A=' .\n"])
def test_bash_syntax_errors_are_reported(text: str) -> None:
    assert _bash(text)[1].has_error


# ------------------------------------------------- the hand-written caller lexer on tricky inputs


def _words(text: str, flavor: str = "sh"):
    from refactor.callers.shell import Lexer, View, commands

    return [[(w.start, w.end, w.cooked) for w in c.words] for c in commands(Lexer(View(text), flavor))]


@pytest.mark.parametrize("text,words", [
    # a line continuation inside a word joins it (the bash grammar's tree splits it in two)
    ("docker build --build-arg A=1\\\nB .\n", [[(0, 6, "docker"), (7, 12, "build"), (13, 24, "--build-arg"), (25, 31, "A=1B"), (32, 33, ".")]]),
    # a `-` before a heredoc is a word (the grammar's tree has no node for it)
    ("docker build -t a - <<EOF\nFROM x\nEOF\n", [[(0, 6, "docker"), (7, 12, "build"), (13, 15, "-t"), (16, 17, "a"), (18, 19, "-")]]),
    # words after a redirection are arguments (the grammar files them under the redirection)
    ("docker build >log --build-arg A 2>&1 .\n", [[(0, 6, "docker"), (7, 12, "build"), (18, 29, "--build-arg"), (30, 31, "A"), (37, 38, ".")]]),
    # CRLF continuations, quotes, a heredoc body and comments
    ("cat <<'EOF'\ndocker build --build-arg A .\nEOF\necho ü --build-arg=Ä # c\n", [[(0, 3, "cat")], [(45, 49, "echo"), (50, 51, "ü"), (52, 65, "--build-arg=Ä")]]),
    ("docker build \\\r\n  --build-arg 'A=x;y' .\r\n", [[(0, 6, "docker"), (7, 12, "build"), (18, 29, "--build-arg"), (30, 37, "A=x;y"), (38, 39, ".")]]),
    # commands inside $(…) are commands too
    ("id=$(docker build -q --build-arg A=$(cat f) .)\n", [
        [(0, 46, "id=$(docker build -q --build-arg A=$(cat f) .)")],
        [(5, 11, "docker"), (12, 17, "build"), (18, 20, "-q"), (21, 32, "--build-arg"), (33, 43, "A=$(cat f)"), (44, 45, ".")],
        [(37, 40, "cat"), (41, 42, "f")],
    ]),
])
def test_caller_lexer_words(text: str, words: list) -> None:
    assert _words(text) == words


def test_caller_lexer_host_expansions_are_one_word() -> None:
    assert _words("docker build --build-arg A=${{ secrets.A }} .", "gh")[0][3] == (25, 43, "A=${{ secrets.A }}")
    assert [w[2] for w in _words("docker build --build-arg A=$(A) --build-arg B=$$B .", "make")[0][2:6]] == ["--build-arg", "A=$(A)", "--build-arg", "B=$$B"]


# --------------------------------------------------------------------------------------------
# tree-sitter-bash: the grammar's extension module is loaded without the package's __init__


def _sexp(language, text: bytes) -> str:
    from tree_sitter import Parser

    return str(Parser(language).parse(text).root_node)


def test_the_bash_grammar_loaded_directly_is_the_packages() -> None:
    import subprocess
    import sys

    import tree_sitter_bash
    from tree_sitter import Language

    from refactor.syntax import shell_guard

    text = b'FOO="$(cat /run/secrets/t)" npm ci && echo "${A:-b}" <<EOF\nx\nEOF\n'
    assert _sexp(shell_guard.bash_language(), text) == _sexp(Language(tree_sitter_bash.language()), text)
    # in a fresh process, reading a RUN does not import the package (nor importlib.resources with it)
    probe = (
        "import sys\nfrom refactor.analysis.shell_parse import analyze_shell\n"
        "assert analyze_shell('npm ci').commands\n"
        "print(sorted(m for m in ('tree_sitter_bash', 'importlib.resources', 'tempfile') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out


def test_the_bash_grammar_falls_back_to_the_package(monkeypatch) -> None:
    from refactor.syntax import shell_guard

    def broken():
        raise ImportError("layout changed")

    monkeypatch.setattr(shell_guard, "_grammar_binding", broken)
    shell_guard.bash_language.cache_clear()
    try:
        assert "program" in _sexp(shell_guard.bash_language(), b"echo hi\n")
    finally:
        shell_guard.bash_language.cache_clear()
