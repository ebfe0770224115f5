#!/usr/bin/env bash
# Maps the orb's parameters (STOWAWAY_PARAM_* environment variables) onto the CI contract's
# STOWAWAY_* variables (docs/ci-contract.md) and runs `stowaway ci`, which owns the defaults (gate:
# critical), the database step, list parsing and validation. Exit 0 pass or warn, 1 the gate
# failed, 2 unchecked or an error. Secrets arrive as the *names* of environment variables
# (env_var_name parameters) and are read here, so their values never appear in the config.
set -eu

param() {
  local value="${1:-}"
  # Parameters may reference variables ("app:$CIRCLE_SHA1"); environment: values are not expanded.
  if [[ "$value" == *'$'* ]] && command -v circleci >/dev/null 2>&1; then
    value="$(printf '%s' "$value" | circleci env subst)"
  fi
  printf '%s' "$value"
}
from_var() {
  local name="${1:-}"
  if [ -n "$name" ]; then printf '%s' "${!name:-}"; fi
}
# Sets the contract variable $1 from a parameter value, unless the parameter is empty.
set_input() {
  local value
  value="$(param "${2:-}")"
  if [ -n "$value" ]; then export "$1=$value"; fi
}

set_input STOWAWAY_IMAGE "${STOWAWAY_PARAM_IMAGE:-}"
set_input STOWAWAY_FAIL_ON "${STOWAWAY_PARAM_FAIL_ON:-}"
set_input STOWAWAY_ONLY_FIXED "${STOWAWAY_PARAM_ONLY_FIXED:-}"
set_input STOWAWAY_REQUIRE_SIGNATURE "${STOWAWAY_PARAM_REQUIRE_SIGNATURE:-}"
set_input STOWAWAY_MODE "${STOWAWAY_PARAM_MODE:-}"
set_input STOWAWAY_SEVERITY "${STOWAWAY_PARAM_SEVERITY:-}"
set_input STOWAWAY_POLICY "${STOWAWAY_PARAM_POLICY:-}"
set_input STOWAWAY_IGNORE_FILES "${STOWAWAY_PARAM_IGNORE_FILES:-}"
set_input STOWAWAY_VEX "${STOWAWAY_PARAM_VEX:-}"
set_input STOWAWAY_BASELINE "${STOWAWAY_PARAM_BASELINE:-}"
set_input STOWAWAY_PLATFORM "${STOWAWAY_PARAM_PLATFORM:-}"
set_input STOWAWAY_DB "${STOWAWAY_PARAM_DB:-}"
set_input STOWAWAY_DB_MIRROR "${STOWAWAY_PARAM_DB_MIRROR:-}"
set_input STOWAWAY_CACHE_DIR "${STOWAWAY_PARAM_CACHE_DIR:-}"
set_input STOWAWAY_REPORTS "${STOWAWAY_PARAM_REPORTS:-}"
set_input STOWAWAY_OFFLINE "${STOWAWAY_PARAM_OFFLINE:-}"
set_input STOWAWAY_DB_MAX_AGE "${STOWAWAY_PARAM_DB_MAX_AGE:-}"
set_input STOWAWAY_TIMEOUT_CONNECT "${STOWAWAY_PARAM_TIMEOUT_CONNECT:-}"
set_input STOWAWAY_TIMEOUT_FIRST_BYTE "${STOWAWAY_PARAM_TIMEOUT_FIRST_BYTE:-}"
set_input STOWAWAY_TIMEOUT_IDLE "${STOWAWAY_PARAM_TIMEOUT_IDLE:-}"
set_input STOWAWAY_INSECURE "${STOWAWAY_PARAM_INSECURE:-}"
set_input STOWAWAY_CA_FILE "${STOWAWAY_PARAM_CA_FILE:-}"
set_input STOWAWAY_SERVER "${STOWAWAY_PARAM_SERVER:-}"
out="$(param "${STOWAWAY_PARAM_OUTPUT_DIR:-stowaway-reports}")"
export STOWAWAY_OUTPUT_DIR="$out"
export STOWAWAY_REPORTS="${STOWAWAY_REPORTS:-sarif,junit,html,cyclonedx}"

# `stowaway ci` reads STOWAWAY_USERNAME / STOWAWAY_PASSWORD / STOWAWAY_REGISTRY_TOKEN /
# STOWAWAY_SERVER_TOKEN from its environment, so secrets never reach the command line (process
# lists, logs).
username="$(param "${STOWAWAY_PARAM_USERNAME:-}")"
if [ -n "$username" ]; then
  password="$(from_var "${STOWAWAY_PARAM_PASSWORD_VAR:-}")"
  if [ -z "$password" ]; then
    echo "stowaway: registry-username is set but \$${STOWAWAY_PARAM_PASSWORD_VAR:-<registry-password-var>} is empty" >&2
    code=2
  fi
  export STOWAWAY_USERNAME="$username" STOWAWAY_PASSWORD="$password"
fi
token="$(from_var "${STOWAWAY_PARAM_TOKEN_VAR:-}")"
if [ -n "$token" ]; then export STOWAWAY_REGISTRY_TOKEN="$token"; fi
server_token="$(from_var "${STOWAWAY_PARAM_SERVER_TOKEN_VAR:-}")"
if [ -n "$server_token" ]; then export STOWAWAY_SERVER_TOKEN="$server_token"; fi

if [ -z "${code:-}" ]; then
  code=0
  stowaway ci || code=$?
fi
# store_test_results reads a folder of JUnit files.
mkdir -p "$out/junit"
if [ -f "$out/stowaway.junit.xml" ]; then cp "$out/stowaway.junit.xml" "$out/junit/stowaway.xml"; fi
if [ -n "${STOWAWAY_PARAM_EXIT_CODE_FILE:-}" ]; then
  printf '%s\n' "$code" >"$STOWAWAY_PARAM_EXIT_CODE_FILE"
  exit 0
fi
exit "$code"
