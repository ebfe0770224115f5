#!/usr/bin/env bash
# Runs `stowaway scan` from the orb's parameters (STOWAWAY_PARAM_* environment variables) and exits
# 0 pass or warn, 1 gate failed, 2 error. Secrets arrive as the *names* of environment variables
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
lower() { printf '%s' "$1" | tr '[:upper:]' '[:lower:]'; }
from_var() {
  local name="${1:-}"
  if [ -n "$name" ]; then printf '%s' "${!name:-}"; fi
}

image="$(param "${STOWAWAY_PARAM_IMAGE:-}")"
if [ -z "$image" ]; then
  echo "stowaway: the image parameter is required (registry reference, oci-archive:PATH, docker-archive:PATH)" >&2
  exit 2
fi
out="$(param "${STOWAWAY_PARAM_OUTPUT_DIR:-stowaway-reports}")"
mkdir -p "$out/junit"

args=(scan "$image" --format table
  --report "json=$out/stowaway.json" --report "junit=$out/junit/stowaway.xml" --report "sarif=$out/stowaway.sarif"
  --report "html=$out/stowaway.html" --report "cyclonedx=$out/cyclonedx.json")

policy="$(param "${STOWAWAY_PARAM_POLICY:-}")"
fail_on="$(lower "${STOWAWAY_PARAM_FAIL_ON:-}")"
# A policy file carries its own failOn; the high default applies only without one.
if [ -z "$fail_on" ] && [ -z "$policy" ]; then fail_on=high; fi
if [ -n "$fail_on" ]; then args+=(--fail-on "$fail_on"); fi
if [ -n "$policy" ]; then args+=(--policy "$policy"); fi
severity="$(lower "${STOWAWAY_PARAM_SEVERITY:-}")"
if [ -n "$severity" ]; then args+=(--severity "$severity"); fi
if [ "${STOWAWAY_PARAM_ONLY_FIXED:-false}" = true ] || [ "${STOWAWAY_PARAM_ONLY_FIXED:-}" = 1 ]; then args+=(--only-fixed); fi
# Empty keeps the policy file's own mode (enforce without one).
mode="$(lower "${STOWAWAY_PARAM_MODE:-}")"
if [ -n "$mode" ]; then args+=(--mode "$mode"); fi
if [ "${STOWAWAY_PARAM_INSECURE:-false}" = true ] || [ "${STOWAWAY_PARAM_INSECURE:-}" = 1 ]; then args+=(--insecure); fi
add_option() {
  local value
  value="$(param "${2:-}")"
  if [ -n "$value" ]; then args+=("$1" "$value"); fi
}
add_option --db "${STOWAWAY_PARAM_DB:-}"
add_option --baseline "${STOWAWAY_PARAM_BASELINE:-}"
add_option --platform "${STOWAWAY_PARAM_PLATFORM:-}"
add_option --ca-file "${STOWAWAY_PARAM_CA_FILE:-}"
add_option --cache-dir "${STOWAWAY_PARAM_CACHE_DIR:-}"
IFS=', ' read -r -a ignore_files <<<"$(param "${STOWAWAY_PARAM_IGNORE_FILES:-}")"
for file in "${ignore_files[@]}"; do if [ -n "$file" ]; then args+=(--ignore-file "$file"); fi; done
IFS=', ' read -r -a vex_files <<<"$(param "${STOWAWAY_PARAM_VEX:-}")"
for file in "${vex_files[@]}"; do if [ -n "$file" ]; then args+=(--vex "$file"); fi; done

# The CLI reads STOWAWAY_USERNAME / STOWAWAY_PASSWORD / STOWAWAY_REGISTRY_TOKEN from its environment,
# so secrets never reach the command line (process lists, logs).
username="$(param "${STOWAWAY_PARAM_USERNAME:-}")"
if [ -n "$username" ]; then
  password="$(from_var "${STOWAWAY_PARAM_PASSWORD_VAR:-}")"
  if [ -z "$password" ]; then
    echo "stowaway: registry-username is set but \$${STOWAWAY_PARAM_PASSWORD_VAR:-<registry-password-var>} is empty" >&2
    exit 2
  fi
  export STOWAWAY_USERNAME="$username" STOWAWAY_PASSWORD="$password"
fi
token="$(from_var "${STOWAWAY_PARAM_TOKEN_VAR:-}")"
if [ -n "$token" ]; then export STOWAWAY_REGISTRY_TOKEN="$token"; fi

code=0
stowaway "${args[@]}" || code=$?
if [ -n "${STOWAWAY_PARAM_EXIT_CODE_FILE:-}" ]; then
  printf '%s\n' "$code" >"$STOWAWAY_PARAM_EXIT_CODE_FILE"
  exit 0
fi
exit "$code"
