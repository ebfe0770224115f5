#!/usr/bin/env bash
# Replays the scan's exit code after the reports were stored, so a failed gate still leaves its
# evidence in the Tests tab and the artifacts.
set -eu

file="${STOWAWAY_PARAM_EXIT_CODE_FILE:-/tmp/stowaway-exit-code}"
if [ ! -f "$file" ]; then
  echo "stowaway: the scan step recorded no result (it did not finish)" >&2
  exit 2
fi
code="$(cat "$file")"
case "$code" in
  0) echo "stowaway: passed" ;;
  1) echo "stowaway: the policy gate failed (exit 1); see the Tests tab and the stowaway.html artifact" >&2 ;;
  *) echo "stowaway: unchecked or the scan could not run (exit ${code}); see stowaway-outcome.json" >&2 ;;
esac
exit "$code"
