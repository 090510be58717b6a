"""What the DF010 credential-split scan may read, as the result cache (:mod:`refactor.cache`)
fingerprints it: the directories the scan skips, its size limit, and the file names it looks at.
A mirror of :mod:`refactor.supply.split_files` (which ``split_scanner._Scanner.files`` uses):
importing that module imports the ``refactor.supply`` package (about 1 ms), which a warm run that
reuses the scan never needs. tests/test_cache.py checks the mirror against the scan's.
"""

from __future__ import annotations

_SCAN_SKIP_DIRS = frozenset({
    ".git", ".hg", ".svn", "node_modules", "vendor", "__pycache__", ".tox", ".venv", "venv", ".mypy_cache",
    ".pytest_cache", ".ruff_cache", "site-packages",
})  # fmt: skip
_SCAN_MAX_BYTES = 1 << 20
_SCAN_CONFIG_NAMES = frozenset(
    {".npmrc", ".yarnrc", ".yarnrc.yml", "settings.xml", "pip.conf", "pip.ini", ".pypirc", "poetry.toml", "uv.toml"}
)
_SCAN_SCRIPT_NAMES = frozenset({"makefile", "gnumakefile", "jenkinsfile", "justfile"})
_SCAN_SUFFIXES = (".yml", ".yaml", ".sh", ".bash", ".mk", ".ps1", ".groovy", ".gradle", ".gradle.kts", ".jenkinsfile")


def _scan_relevant(name: str) -> bool:
    from refactor.discovery import is_dockerfile_name

    low = name.lower()
    return (
        low in _SCAN_CONFIG_NAMES or low in _SCAN_SCRIPT_NAMES or low.endswith(_SCAN_SUFFIXES) or "." not in low or is_dockerfile_name(name)
    )
