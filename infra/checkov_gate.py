"""Runs checkov's Bicep framework offline and fails on any finding not waived, or any file it could not parse."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(checkov: str) -> int:
    waivers = json.loads((HERE / "checkov-waivers.json").read_text())["waivers"]
    missing = [w.get("id") for w in waivers if not str(w.get("reason", "")).strip()]
    if missing:
        print(f"waivers without a reason: {missing}")
        return 1
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    run = subprocess.run(
        [checkov, "-d", str(HERE), "--framework", "bicep", "--skip-download", "-o", "json",
         "--skip-check", ",".join(w["id"] for w in waivers)],
        capture_output=True, text=True, env=env, check=False,
    )
    try:
        reports = json.loads(run.stdout)
    except ValueError:
        print(run.stdout[-2000:], run.stderr[-2000:])
        return 1
    reports = reports if isinstance(reports, list) else [reports]
    failed = [c for r in reports for c in r.get("results", {}).get("failed_checks", [])]
    unparsed = [p for r in reports for p in r.get("results", {}).get("parsing_errors", [])]
    passed = sum(r.get("summary", {}).get("passed", 0) for r in reports)
    for check in failed:
        print(f"FAILED {check['check_id']} {check['check_name']} on {check['resource']} ({check['file_path']})")
    for path in unparsed:
        print(f"NOT PARSED {path}")
    print(f"checkov: {passed} passed, {len(failed)} failed, {len(waivers)} waived (infra/checkov-waivers.json), "
          f"{len(unparsed)} not parsed")
    return 1 if failed or unparsed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
