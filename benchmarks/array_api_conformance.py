"""Run the Array API conformance suite (array-api-tests) against ``lamina.array``.

    python3 benchmarks/array_api_conformance.py                  # the whole suite
    python3 benchmarks/array_api_conformance.py test_linalg.py   # one file
    python3 benchmarks/array_api_conformance.py --suite PATH     # another copy

The suite is test data kept outside the project (default:
``../shared/array-api-tests`` from the project root, or from the nearest
folder above it that has one; ``$ARRAY_API_TESTS_DIR`` or ``--suite`` override).
It runs with ``--max-examples=10`` directly against ``lamina.array``, no
adapter, from a temporary folder (the suite's folder may be read-only), and
the script prints the pass, fail and skip counts, then each failing test.
It needs ``ndindex`` and ``pytest-json-report`` (the suite's requirements).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def default_suite() -> Path:
    """``../shared/array-api-tests`` beside the project (or beside a folder above it)."""
    for folder in ROOT.parents:
        if (folder / "shared" / "array-api-tests").is_dir():
            return folder / "shared" / "array-api-tests"
    return ROOT.parent / "shared" / "array-api-tests"


def run(suite: Path, files: list[str], max_examples: int, extra: list[str]) -> dict:
    """Run pytest on the suite; the JSON report as a dict."""
    targets = [str(suite / "array_api_tests" / f) for f in files] or [
        str(suite / "array_api_tests")]
    with tempfile.TemporaryDirectory() as work:
        report = Path(work) / "report.json"
        env = dict(os.environ, ARRAY_API_TESTS_MODULE="lamina.array",
                   ARRAY_API_TESTS_VERSION="2023.12",
                   PYTHONPATH=os.pathsep.join([str(ROOT), str(suite)]))
        cmd = [sys.executable, "-m", "pytest", *targets, f"--max-examples={max_examples}",
               "--hypothesis-disable-deadline", "-p", "no:cacheprovider", "-q",
               "--rootdir", str(suite), "--json-report", f"--json-report-file={report}",
               "--json-report-omit", "collectors", "keywords", "streams", "log", "warnings",
               *extra]
        subprocess.run(cmd, cwd=work, env=env, stdout=sys.stderr)  # progress on stderr
        if not report.exists():
            sys.exit("the suite did not run: see the pytest output above")
        return json.loads(report.read_text())


def summarize(report: dict) -> None:
    counts = collections.Counter(t["outcome"] for t in report["tests"])
    print(f"{'outcome':<10}{'tests':>7}")
    for outcome in ("passed", "failed", "skipped", "xfailed", "error"):
        if counts.get(outcome):
            print(f"{outcome:<10}{counts[outcome]:>7}")
    print(f"{'total':<10}{sum(counts.values()):>7}")
    reasons = collections.Counter(_skip_reason(t) for t in report["tests"]
                                  if t["outcome"] == "skipped")
    if reasons:
        print("\nskipped, by reason:")
    for reason, n in reasons.most_common():
        print(f"  {n:>4}  {reason}")
    failed = [t for t in report["tests"] if t["outcome"] in ("failed", "error")]
    if failed:
        print("\nfailures:")
    for t in failed:
        stage = t.get("call") or t.get("setup") or {}
        message = (stage.get("crash") or {}).get("message", "").splitlines()
        print(f"  {t['nodeid'].split('array_api_tests/')[-1]}: {message[0][:160] if message else ''}")


def _skip_reason(test: dict) -> str:
    for stage in ("setup", "call"):
        longrepr = (test.get(stage) or {}).get("longrepr")
        if longrepr and test[stage].get("outcome") == "skipped":
            return str(longrepr).split("Skipped: ")[-1].strip(" ')\"")[:100]
    return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", help="test files of the suite (default: all)")
    parser.add_argument("--suite", type=Path,
                        default=Path(os.environ.get("ARRAY_API_TESTS_DIR", default_suite())))
    parser.add_argument("--max-examples", type=int, default=10)
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []  # after --: for pytest
    args = parser.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    if not (args.suite / "array_api_tests").is_dir():
        sys.exit(f"no array-api-tests suite at {args.suite}: give --suite or ARRAY_API_TESTS_DIR")
    summarize(run(args.suite.resolve(), args.files, args.max_examples, extra))


if __name__ == "__main__":
    main()
