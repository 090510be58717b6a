"""Helpers for the GitHub Action (``action.yml``).

``action_report.py`` turns the one ``dfix --format json`` document of an action run into
everything else the action publishes (workflow annotations, SARIF, the markdown report, the PR
comment body, the job summary and the step outputs). ``upsert_comment.js`` creates or updates the
action's single PR comment from ``actions/github-script``.

Both run by path from the action's checkout (``$GITHUB_ACTION_PATH/refactor/ci/…``) and use only
the standard library (Python) or the objects github-script passes (JavaScript), so they work with
whichever dfix version the action installed.
"""
