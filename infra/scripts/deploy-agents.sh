#!/usr/bin/env bash
# Deploy the Dialogflow agent of every council whose agent changed since the last successful run:
# its tenant file, the library folders of its processes, or the agent-building code. Changes are
# found by comparing content fingerprints (townhall tenants changed), not git history, so shallow
# clones and failed runs are handled: the new fingerprints are written only when every deploy worked.
#
#   infra/scripts/deploy-agents.sh PREVIOUS.json CURRENT.json
#
#   PREVIOUS.json  fingerprints recorded by the last successful run; missing: every council deploys
#   CURRENT.json   written at the end, only if every deploy succeeded; keep it for the next run
#
# Environment: TOWNHALL (default .venv/bin/townhall); TOWNHALL_INCLUDE_DEMO_TENANTS=true to include
# the demo tenants (only on a platform that owns their projects).
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 PREVIOUS.json CURRENT.json" >&2
  exit 2
fi
previous=$1
current=$2
townhall=${TOWNHALL:-.venv/bin/townhall}
demo=()
if [[ ${TOWNHALL_INCLUDE_DEMO_TENANTS:-false} == true ]]; then
  demo=(--demo)
fi

pending="$current.pending"
changed=$("$townhall" tenants changed --since "$previous" --write "$pending" "${demo[@]}")
if [[ -z $changed ]]; then
  echo "No council's agent changed: nothing to deploy."
else
  mapfile -t tenants <<< "$changed"
  for tenant in "${tenants[@]}"; do
    echo "Deploying the Dialogflow agent of $tenant"
    "$townhall" agent deploy "$tenant" < /dev/null
  done
fi
mv "$pending" "$current"
