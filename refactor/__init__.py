"""dfix: move secret build args into BuildKit secret mounts.

The distribution is named ``dfix``; the import package is ``refactor``.
"""

__version__ = "0.1.0"
