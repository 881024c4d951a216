#!/usr/bin/env bash
# The stages of cloudbuild.yaml, one function each, so that a stage reads the same here as in CI
# and can be run by hand from the top of the repository:
#
#   infra/scripts/ci.sh STAGE        infra/scripts/ci.sh --list
#
# Environment (cloudbuild.yaml sets these from its substitutions; docs/operations.md lists them):
#   TOWNHALL_DEPLOY=true            the deploy stages run (main branch); otherwise they skip
#   TOWNHALL_PLATFORM_PROJECT       platform project: webhook, Firestore settings, secrets
#   TOWNHALL_REGION                 region of the webhook (default europe-west2)
#   TOWNHALL_STATE_BUCKET           Terraform state bucket; unset, `plan` only validates
#   TOWNHALL_INCLUDE_DEMO_TENANTS   true to deploy the demo tenants too (default false)
#   TOWNHALL_GCLOUD_VERSION         gcloud release the test stage installs (default 528.0.0)
#   TOWNHALL_ALERTS_ENABLED         true/false: create the turn alerts; unset or empty (_ALERTS_ENABLED),
#                                   planned only once the state holds the turn metric (docs/operations.md, "First apply")
#   TF_VAR_*                        any other Terraform input (infra/README.md lists them)
set -euo pipefail
cd "$(dirname "$0")/../.."

STAGES=(test bundle plan apply settings agents-fetch agents agents-record)
FINGERPRINTS="townhall/agent-fingerprints.json"   # object in the state bucket
TOWNHALL=${TOWNHALL:-.venv/bin/townhall}

say() { printf '\n== %s\n' "$*"; }

deploying() {
  if [[ ${TOWNHALL_DEPLOY:-false} != true ]]; then
    echo "TOWNHALL_DEPLOY is not true (a pull request build): nothing to deploy in this stage."
    return 1
  fi
}

need() {
  local name
  for name in "$@"; do
    if [[ -z ${!name:-} ]]; then
      echo "ci.sh: $name is not set: set the matching substitution on the trigger (docs/operations.md, \"CI/CD\")" >&2
      exit 2
    fi
  done
}

terraform_bin() {
  if [[ -x .tools/terraform ]]; then
    echo "$PWD/.tools/terraform"
  elif command -v terraform > /dev/null; then
    command -v terraform
  else
    echo "ci.sh: terraform not found: install Terraform (infra/versions.tf gives the versions) or run the" \
      "'terraform' step first (infra/scripts/install-terraform.sh)" >&2
    exit 2
  fi
}

terraform_init() {
  if ! "$(terraform_bin)" -chdir=infra init -input=false "$@"; then
    echo "ci.sh: terraform init failed. It downloads the google and random providers from" \
      "registry.terraform.io (or a mirror set in the Terraform CLI configuration): run it where they" \
      "can be installed. A backend error means the state bucket or its permissions (infra/README.md)." >&2
    exit 1
  fi
}

terraform_inputs() {
  export TF_IN_AUTOMATION=1
  export TF_VAR_platform_project=${TOWNHALL_PLATFORM_PROJECT:-}
  export TF_VAR_region=${TOWNHALL_REGION:-europe-west2}
  export TF_VAR_include_demo_tenants=${TOWNHALL_INCLUDE_DEMO_TENANTS:-false}
  export TF_VAR_function_source_zip="$PWD/build/function.zip"
}

# make test, with its tools installed first when the image lacks them (python:3.11 in Cloud Build).
stage_test() {
  if ! command -v make > /dev/null || ! command -v gcloud > /dev/null || ! command -v java > /dev/null; then
    if [[ $(id -u) != 0 ]] || ! command -v apt-get > /dev/null; then
      echo "ci.sh test: needs make, Java and gcloud with the Firestore emulator (README.md, \"Start here\")" >&2
      exit 2
    fi
    say "installing make, Java and the Firestore emulator"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends make curl gnupg ca-certificates default-jre-headless > /dev/null
    curl -fsSL https://packages.cloud.google.com/apt/doc/apt-key.gpg | gpg --dearmor -o /usr/share/keyrings/cloud.google.gpg
    echo "deb [signed-by=/usr/share/keyrings/cloud.google.gpg] https://packages.cloud.google.com/apt cloud-sdk main" \
      > /etc/apt/sources.list.d/google-cloud-sdk.list
    apt-get update -qq
    # Pinned: the emulator of this gcloud release runs on bookworm's Java 17.
    local version="=${TOWNHALL_GCLOUD_VERSION:-528.0.0}-0"
    apt-get install -y -qq --no-install-recommends "google-cloud-cli$version" \
      "google-cloud-cli-firestore-emulator$version" > /dev/null
  fi
  PATH="$PWD/.tools:$PATH" .ci/run
}

stage_bundle() {
  python3 infra/scripts/bundle.py --out build/function --zip build/function.zip
}

# terraform plan, attached to the build as build/plan.txt. Without a state bucket (e.g. `make plan`
# on a laptop): init without a backend and validate only.
stage_plan() {
  local tf
  tf=$(terraform_bin)
  terraform_inputs
  mkdir -p build
  if [[ -z ${TOWNHALL_STATE_BUCKET:-} ]]; then
    say "TOWNHALL_STATE_BUCKET is not set: terraform init without a backend, and validate"
    terraform_init -backend=false
    "$tf" -chdir=infra validate
    echo "Configuration valid. Not planned: set TOWNHALL_STATE_BUCKET and TOWNHALL_PLATFORM_PROJECT to plan." \
      | tee build/plan.txt
    return
  fi
  need TOWNHALL_PLATFORM_PROJECT
  [[ -f build/function.zip ]] || stage_bundle
  terraform_init -backend-config="bucket=$TOWNHALL_STATE_BUCKET"
  "$tf" -chdir=infra validate
  alerts_enabled "$tf"
  local options=()
  if [[ ${TOWNHALL_DEPLOY:-false} != true ]]; then
    # Pull request plans run as an account that reads the state and nothing else: no lock, no
    # refresh (the plan is computed from the state and the code).
    options=(-lock=false -refresh=false)
  fi
  "$tf" -chdir=infra plan -input=false "${options[@]}" -out="$PWD/build/tfplan"
  "$tf" -chdir=infra show -no-color "$PWD/build/tfplan" > build/plan.txt
  echo "Plan written to build/plan.txt (an artifact of this build)."
}

# A new log-based metric takes up to ten minutes to be visible to alert policies: the first apply of
# a platform makes the metric without the alerts on it, and a later build (ten minutes on) adds them.
alerts_enabled() {
  local tf=$1 listed
  if [[ -n ${TOWNHALL_ALERTS_ENABLED:-} ]]; then
    export TF_VAR_alerts_enabled=$TOWNHALL_ALERTS_ENABLED
    return
  fi
  if ! listed=$("$tf" -chdir=infra state list); then
    echo "ci.sh: cannot list the Terraform state to decide whether the turn alerts can be made;" \
      "set TOWNHALL_ALERTS_ENABLED=true (or false on a platform's first apply)" >&2
    exit 1
  fi
  if grep -qx 'module.platform.google_logging_metric.turns' <<< "$listed"; then
    export TF_VAR_alerts_enabled=true
  else
    export TF_VAR_alerts_enabled=false
    echo "The turn metric is not in the state yet (a first apply): the alerts on it are left for the" \
      "next build at least ten minutes after this one (docs/operations.md, \"First apply\")."
  fi
}

stage_apply() {
  deploying || return 0
  need TOWNHALL_STATE_BUCKET TOWNHALL_PLATFORM_PROJECT
  local tf
  tf=$(terraform_bin)
  terraform_inputs
  "$tf" -chdir=infra apply -input=false "$PWD/build/tfplan"
  "$tf" -chdir=infra output -json webhook_password_sha256 > build/webhook-hashes.json
  "$tf" -chdir=infra output -raw webhook_url > build/webhook-url.txt
}

stage_settings() {
  deploying || return 0
  need TOWNHALL_PLATFORM_PROJECT
  "$TOWNHALL" settings push --project "$TOWNHALL_PLATFORM_PROJECT" --webhook-hashes build/webhook-hashes.json
}

# The agent fingerprints of the last successful deploy live in the state bucket (gcloud image).
stage_agents_fetch() {
  deploying || return 0
  need TOWNHALL_STATE_BUCKET
  rm -f build/agent-fingerprints.previous.json
  if ! gcloud storage cp "gs://$TOWNHALL_STATE_BUCKET/$FINGERPRINTS" build/agent-fingerprints.previous.json; then
    echo "No fingerprints from an earlier deploy: every council's agent will be deployed."
  fi
}

stage_agents() {
  deploying || return 0
  need TOWNHALL_PLATFORM_PROJECT
  # agent deploy sets each fulfillment to the webhook Terraform made, with the password Terraform
  # keeps in Secret Manager (townhall-<id>-webhook-password in the platform project).
  TOWNHALL_WEBHOOK_URL=$(cat build/webhook-url.txt) TOWNHALL=$TOWNHALL \
    infra/scripts/deploy-agents.sh build/agent-fingerprints.previous.json build/agent-fingerprints.json
}

stage_agents_record() {
  deploying || return 0
  need TOWNHALL_STATE_BUCKET
  gcloud storage cp build/agent-fingerprints.json "gs://$TOWNHALL_STATE_BUCKET/$FINGERPRINTS"
}

if [[ $# -ne 1 ]]; then
  echo "usage: $0 STAGE   (stages: ${STAGES[*]}; --list prints them)" >&2
  exit 2
fi
if [[ $1 == --list ]]; then
  printf '%s\n' "${STAGES[@]}"
  exit 0
fi
for stage in "${STAGES[@]}"; do
  if [[ $1 == "$stage" ]]; then
    say "stage $stage"
    "stage_${stage//-/_}"
    exit 0
  fi
done
echo "ci.sh: no stage '$1' (stages: ${STAGES[*]})" >&2
exit 2
