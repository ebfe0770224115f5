#!/usr/bin/env bash
# Installs the Stowaway CLI unless the executor image already has it. A user-level prefix avoids
# needing root in the cimg images; $BASH_ENV carries PATH to the following steps.
set -eu

# A result left by an earlier scan in this job must not stand in for this one.
rm -f "${STOWAWAY_PARAM_EXIT_CODE_FILE:-/tmp/stowaway-exit-code}"
if command -v stowaway >/dev/null 2>&1; then
  echo "stowaway: using $(command -v stowaway)"
  exit 0
fi
prefix="${HOME}/.stowaway"
npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "@stowaway/cli@${STOWAWAY_PARAM_VERSION:-0.1.0}"
echo "export PATH=\"${prefix}/node_modules/.bin:\$PATH\"" >>"${BASH_ENV:-/dev/null}"
