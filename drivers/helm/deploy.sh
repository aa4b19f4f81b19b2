#!/usr/bin/env bash
# Gantry Helm driver: promote one image digest to one stage.
#
#   helm upgrade --install --atomic --wait, the image pinned by digest, then `helm status` and
#   `helm history` printed as evidence, and the release's revision, status and the sha256 of
#   `helm status -o json` written to GANTRY_EXPORTS_FILE for the buildspec to export (CodeBuild
#   exported-variables reach the workflow as Build.ExportedEnvironmentVariables).
#
# Runs in AWS CodeBuild (drivers/helm/buildspec.yml; drivers/helm/cdk.ts inlines this file into the deployed
# buildspec). Every input is a GANTRY_* environment variable set by the release workflow. Each one is
# checked against a pattern before anything runs, an unknown GANTRY_* variable is refused, and every
# expansion is quoted: no value is ever evaluated as shell code.
set -euo pipefail

fail() {
  printf 'gantry-helm: %s\n' "$*" >&2
  exit 1
}

# name -> the pattern its value must match (bash ERE, anchored).
declare -A PATTERNS=(
  [GANTRY_RELEASE_ID]='^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$'
  [GANTRY_KIND]='^(deploy|rollback)$'
  [GANTRY_SERVICE]='^[a-z][a-z0-9-]{0,39}$'
  [GANTRY_STAGE]='^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$'
  [GANTRY_DIGEST]='^sha256:[a-f0-9]{64}$'
  [GANTRY_IMAGE_REPOSITORY]='^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:[0-9]{1,5})?/[a-z0-9]+([._/-][a-z0-9]+)*$'
  [GANTRY_CLUSTER_NAME]='^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$'
  [GANTRY_CLUSTER_REGION]='^[a-z]{2}(-gov)?-[a-z]+-[0-9]$'
  [GANTRY_NAMESPACE]='^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$'
  [GANTRY_HELM_RELEASE]='^[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?$'
  [GANTRY_HELM_CHART]='^(oci://|https://)[A-Za-z0-9._/:@-]+$|^[a-z0-9][a-z0-9._-]*/[a-z0-9][a-z0-9._-]*$'
  [GANTRY_HELM_VERSION]='^[0-9A-Za-z.+-]{1,64}$'
  [GANTRY_HELM_TIMEOUT]='^[1-9][0-9]{0,3}m$'
  [GANTRY_VALUES_REPOSITORY_KEY]='^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$'
  [GANTRY_VALUES_DIGEST_KEY]='^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$'
)
# Set by the workflow but optional here: when present it must name this driver.
declare -A OPTIONAL_PATTERNS=(
  [GANTRY_DRIVER]='^helm$'
  # A cluster in another account: the role the build assumes to reach it (decision 045).
  [GANTRY_CLUSTER_ROLE_ARN]='^arn:aws[-a-z]*:iam::[0-9]{12}:role/([A-Za-z0-9_+=,.@-]{1,64}/){0,10}[A-Za-z0-9_+=,.@-]{1,64}$'
  # Set by the buildspec (env.variables): where the evidence for exported-variables goes.
  [GANTRY_EXPORTS_FILE]='^/[A-Za-z0-9._/-]{1,255}$'
)

# Refuse any GANTRY_* variable this driver does not know: every one it receives is validated.
while IFS= read -r name; do
  if [[ -z "${PATTERNS[$name]+set}" && -z "${OPTIONAL_PATTERNS[$name]+set}" ]]; then
    fail "$name is not a variable the Helm driver accepts"
  fi
done < <(compgen -e | grep '^GANTRY_' || true)

for name in "${!PATTERNS[@]}"; do
  value="${!name-}"
  [[ -n "$value" ]] || fail "$name is not set"
  [[ "$value" =~ ${PATTERNS[$name]} ]] || fail "$name does not match ${PATTERNS[$name]} (got $(printf '%q' "${value:0:100}"))"
done
for name in "${!OPTIONAL_PATTERNS[@]}"; do
  value="${!name-}"
  if [[ -n "$value" && ! "$value" =~ ${OPTIONAL_PATTERNS[$name]} ]]; then
    fail "$name does not match ${OPTIONAL_PATTERNS[$name]} (got $(printf '%q' "${value:0:100}"))"
  fi
done

command -v helm >/dev/null || fail "helm is not installed"
command -v aws >/dev/null || fail "the AWS CLI is not installed"
command -v jq >/dev/null || fail "jq is not installed"
command -v sha256sum >/dev/null || fail "sha256sum is not installed"
if [[ -n "${GANTRY_EXPORTS_FILE-}" ]]; then : >"$GANTRY_EXPORTS_FILE"; fi

# NAME=value lines for the buildspec's exported-variables, each value checked against its pattern first
# (the workflow checks them again): a value that does not match is left out, never written.
export_evidence() {
  local name="$1" value="$2" pattern="$3"
  [[ -n "${GANTRY_EXPORTS_FILE-}" ]] || return 0
  if [[ "$value" =~ $pattern ]]; then
    printf '%s=%s\n' "$name" "$value" >>"$GANTRY_EXPORTS_FILE"
  else
    printf 'gantry-helm: %s not exported (does not match %s)\n' "$name" "$pattern" >&2
  fi
}

printf 'gantry-helm: %s %s %s@%s to %s (release %s, cluster %s/%s, namespace %s)\n' \
  "$GANTRY_KIND" "$GANTRY_SERVICE" "$GANTRY_IMAGE_REPOSITORY" "$GANTRY_DIGEST" "$GANTRY_STAGE" \
  "$GANTRY_RELEASE_ID" "$GANTRY_CLUSTER_REGION" "$GANTRY_CLUSTER_NAME" "$GANTRY_NAMESPACE"
helm version --short

# A cluster in another account (clusters.<key>.roleArn, docs/decisions/045-clusters-in-other-accounts.md): its role
# is assumed, in the cluster's region, and the temporary credentials go to a private credentials file (mode 600,
# removed on exit) under the profile gantry-cluster, which only the cluster's calls name (update-kubeconfig, and
# through the kubeconfig `aws eks get-token`). Every other call keeps the build's own role. Nothing is echoed.
cluster_profile=()
if [[ -n "${GANTRY_CLUSTER_ROLE_ARN-}" ]]; then
  AWS_SHARED_CREDENTIALS_FILE="$(mktemp)"
  export AWS_SHARED_CREDENTIALS_FILE
  chmod 600 "$AWS_SHARED_CREDENTIALS_FILE"
  trap 'rm -f "$AWS_SHARED_CREDENTIALS_FILE"' EXIT
  cluster_creds="$(aws sts assume-role --role-arn "$GANTRY_CLUSTER_ROLE_ARN" --role-session-name "gantry-${GANTRY_RELEASE_ID:0:57}" \
    --duration-seconds 3600 --region "$GANTRY_CLUSTER_REGION" \
    --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text)" ||
    fail "could not assume the cluster's role $GANTRY_CLUSTER_ROLE_ARN"
  read -r cluster_key cluster_secret cluster_token <<<"$cluster_creds"
  [[ -n "${cluster_token-}" ]] || fail "assuming $GANTRY_CLUSTER_ROLE_ARN returned no credentials"
  printf '[gantry-cluster]\naws_access_key_id = %s\naws_secret_access_key = %s\naws_session_token = %s\n' \
    "$cluster_key" "$cluster_secret" "$cluster_token" >"$AWS_SHARED_CREDENTIALS_FILE"
  unset cluster_creds cluster_key cluster_secret cluster_token
  cluster_profile=(--profile gantry-cluster)
  printf 'gantry: cluster %s is reached as %s\n' "$GANTRY_CLUSTER_NAME" "$GANTRY_CLUSTER_ROLE_ARN"
fi

KUBECONFIG="$(mktemp)"
export KUBECONFIG
aws eks update-kubeconfig --name "$GANTRY_CLUSTER_NAME" --region "$GANTRY_CLUSTER_REGION" --kubeconfig "$KUBECONFIG" "${cluster_profile[@]}"

# A chart in a private ECR registry (oci://<account>.dkr.ecr.<region>.amazonaws.com/...) needs a
# registry login; the password goes through stdin, never the command line.
ecr_chart='^oci://([0-9]{12}\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?)/'
if [[ "$GANTRY_HELM_CHART" =~ $ecr_chart ]]; then
  registry="${BASH_REMATCH[1]}"
  registry_region="${BASH_REMATCH[2]}"
  aws ecr get-login-password --region "$registry_region" |
    helm registry login --username AWS --password-stdin "$registry"
fi

status=0
helm upgrade --install "$GANTRY_HELM_RELEASE" "$GANTRY_HELM_CHART" \
  --version "$GANTRY_HELM_VERSION" \
  --namespace "$GANTRY_NAMESPACE" \
  --atomic \
  --wait \
  --timeout "$GANTRY_HELM_TIMEOUT" \
  --history-max 20 \
  --description "gantry ${GANTRY_KIND} ${GANTRY_RELEASE_ID}" \
  --set-string "${GANTRY_VALUES_REPOSITORY_KEY}=${GANTRY_IMAGE_REPOSITORY}" \
  --set-string "${GANTRY_VALUES_DIGEST_KEY}=${GANTRY_DIGEST}" || status=$?

# Evidence, also after a failed (and, with --atomic, rolled back) upgrade. `helm status -o json` holds
# the rendered manifest and values (Secrets included), so only its summary fields are printed, and only
# its sha256 leaves the build (with the revision and status, for the ledger).
echo 'gantry-helm: evidence helm-status'
status_json="$(mktemp)"
if helm status "$GANTRY_HELM_RELEASE" --namespace "$GANTRY_NAMESPACE" -o json >"$status_json" &&
  jq -c '{name, namespace, version, info: (.info | {status, first_deployed, last_deployed, description}), chart: (.chart.metadata | {name, version, appVersion})}' <"$status_json"; then
  status_sha256="$(sha256sum <"$status_json")"
  status_sha256="${status_sha256%% *}"
  printf 'gantry-helm: evidence helm-status sha256 %s\n' "$status_sha256"
  export_evidence HELM_REVISION "$(jq -r '.version // empty' <"$status_json")" '^[1-9][0-9]{0,8}$'
  export_evidence HELM_STATUS "$(jq -r '.info.status // empty' <"$status_json")" '^(unknown|deployed|uninstalled|superseded|failed|uninstalling|pending-install|pending-upgrade|pending-rollback)$'
  export_evidence HELM_STATUS_SHA256 "$status_sha256" '^[a-f0-9]{64}$'
else
  echo 'gantry-helm: no release status (the release does not exist)'
fi
rm -f "$status_json"
echo 'gantry-helm: evidence helm-history'
helm history "$GANTRY_HELM_RELEASE" --namespace "$GANTRY_NAMESPACE" --max 10 -o json ||
  echo 'gantry-helm: no release history (the release does not exist)'

if [[ "$status" -ne 0 ]]; then
  fail "helm upgrade failed with exit code $status"
fi
echo "gantry-helm: ${GANTRY_KIND} of ${GANTRY_DIGEST} to ${GANTRY_STAGE} succeeded"
