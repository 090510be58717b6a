"""The SARIF 2.1.0 log the action uploads when dfix did not write its own (:func:`sarif`): a rule per
code found in the report, results with regions, DF900 for a file dfix could not process. Standard
library only (see ``action_report.py``).
"""

from __future__ import annotations

import json
import os
from urllib.parse import quote

SARIF_SCHEMA = "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json"


def _uri(path: str) -> str:
    return quote(path.replace(os.sep, "/"), safe="/:@!$&'()*+,;=-._~")


def _level(severity: str | None) -> str:
    return {"error": "error", "warning": "warning"}.get(severity or "", "note")


def sarif(doc: dict, version: str | None = None) -> str:
    rules: dict[str, dict] = {}
    results = []

    def rule(code: str, name: str, severity: str | None, secret: bool) -> int:
        if code not in rules:
            rules[code] = {
                "id": code,
                "name": name,
                "shortDescription": {"text": name.replace("-", " ").capitalize()},
                "help": {
                    "text": f"Run `dfix --explain {code}` for this rule's documentation.",
                    "markdown": f"Run `dfix --explain {code}` for this rule's documentation.",
                },
                "defaultConfiguration": {"level": _level(severity)},
                "properties": {"secret": bool(secret)},
            }
        return list(rules).index(code)

    for f in doc["files"]:
        loc = {"artifactLocation": {"uri": _uri(f["path"])}}
        for x in f.get("findings") or []:
            results.append(
                {
                    "ruleId": x["code"],
                    "ruleIndex": rule(x["code"], x.get("name") or x["code"], x.get("severity"), bool(x.get("secret"))),
                    "level": _level(x.get("severity")),
                    "message": {"text": x["message"]},
                    "locations": [
                        {
                            "physicalLocation": dict(
                                loc,
                                region={
                                    "startLine": x["line"],
                                    "startColumn": x["column"],
                                    "endLine": x["end_line"],
                                    "endColumn": x["end_column"],
                                },
                            )
                        }
                    ],
                }
            )
        if f.get("status") == "error":
            results.append(
                {
                    "ruleId": "DF900",
                    "ruleIndex": rule("DF900", "unprocessable-file", "error", False),
                    "level": "error",
                    "message": {"text": f.get("error") or "error"},
                    "locations": [{"physicalLocation": loc}],
                }
            )
    driver: dict = {"name": "dfix", "rules": list(rules.values())}
    if version:
        driver["version"] = version
    return (
        json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [{"tool": {"driver": driver}, "results": results}]}, indent=2)
        + "\n"
    )
