"""``dfix server``: a Language Server over stdio (pygls + lsprotocol).

- ``core``: one document's text → the engine's result → LSP diagnostics, code actions, hover,
  code lens (no pygls; unit-testable);
- ``positions``: engine offsets ↔ LSP positions (UTF-16/UTF-8/UTF-32 code units, ``\\r\\n``/``\\r``/
  ``\\n`` lines, BOM);
- ``app``: the pygls server (document store, debounced analysis in one worker thread, handlers);
- ``cli``: the ``dfix server`` click command.

See docs/editor.md for editor set-up.
"""
