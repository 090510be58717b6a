"""``dfix audit``: which built images already leak which credentials.

Targets (``sources.py``): a local image through the engine, a ``docker save`` tarball, an OCI image
layout directory, or a registry reference (``registry/repo`` alone: every tag). What is read
(``config.py`` for the image config, ``layers.py`` for layer files with ``--layers``) is judged with
the Dockerfile rules' classifier (``refactor.analysis.secrets.judge``) and credential-file knowledge
(``refactor.analysis.credfiles``). Findings (``model.py``) hold a masked description and a 4-hex
fingerprint of each value, never the value itself.
"""
