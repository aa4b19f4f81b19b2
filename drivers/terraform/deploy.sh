#!/usr/bin/env bash
# Gantry Terraform driver: promote one image digest to one stage.
#
#   download the stage's module (deploy.source, a zip in S3), `terraform init`, `terraform plan -out`
#   with the image variable set to <repository>@<digest>, the plan's JSON, its sha256 and a summary
#   written to the evidence bucket, a plan that would destroy anything refused unless the stage allows
#   it, then `terraform apply` of exactly that saved plan. The plan's sha256, its evidence key and its
#   add/change/destroy counts go to GANTRY_EXPORTS_FILE for the buildspec to export (CodeBuild
#   exported-variables reach the workflow as Build.ExportedEnvironmentVariables).
#
# GANTRY_TF_MODE (decision 049; a stage with an approval plans before it is approved):
#   (unset)  plan and apply in one run, as above;
#   plan     plan only: the binary saved plan (tfplan) goes to evidence/<release>/<stage>/plan-<n>/ with its
#            JSON and summary; TF_SAVED_PLAN_SHA256, TF_SAVED_PLAN_KEY, TF_PLAN_SUMMARY and TF_PLAN_RESULT
#            (planned | refused) are exported; a plan that destroys is refused unless the stage allows it;
#            nothing is applied;
#   apply    the saved plan GANTRY_TF_PLAN_KEY is downloaded and refused unless its sha256 is
#            GANTRY_TF_PLAN_SHA256 (the approved one: TF_PLAN_RESULT=mismatch, exit 1); then `terraform apply`
#            of exactly that file. Terraform refusing it as stale (the state moved since the plan) is
#            TF_PLAN_RESULT=stale and exit 3: nothing was applied. Success is TF_PLAN_RESULT=applied.
#
# Runs in AWS CodeBuild (drivers/terraform/buildspec.yml; drivers/terraform/cdk.ts inlines this file into the
# deployed buildspec, whose install phase puts a pinned, checksum-verified terraform on the PATH — this
# script never downloads a tool, so it runs offline wherever terraform, aws, unzip, python3 and
# sha256sum are on the PATH). Every input is a GANTRY_* environment variable set by the release
# workflow, plus GANTRY_EVIDENCE_BUCKET set by the CodeBuild project. Each one is checked before
# anything runs, an unknown GANTRY_* variable is refused, and every expansion is quoted: no value is
# ever evaluated as shell code. The environment contract is in docs/drivers.md.
set -euo pipefail
umask 077

fail() {
  printf 'gantry-terraform: %s\n' "$*" >&2
  exit 1
}

# name -> the pattern its value must match (bash ERE, anchored). The same rules as the config schema.
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
  [GANTRY_TF_SOURCE]='^s3://[a-z0-9.-]{3,63}/[A-Za-z0-9._/-]+$'
  [GANTRY_TF_WORKDIR]='^[A-Za-z0-9._/-]{1,128}$'
  [GANTRY_TF_IMAGE_VARIABLE]='^[A-Za-z_][A-Za-z0-9_-]{0,63}$'
  [GANTRY_TF_ALLOW_DESTROY]='^(true|false)$'
  [GANTRY_EVIDENCE_BUCKET]='^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$'
)
# Set by the workflow but optional here: when present it must name this driver.
declare -A OPTIONAL_PATTERNS=(
  [GANTRY_DRIVER]='^terraform$'
  # A cluster in another account: the role the build assumes to reach it (decision 045).
  [GANTRY_CLUSTER_ROLE_ARN]='^arn:aws[-a-z]*:iam::[0-9]{12}:role/([A-Za-z0-9_+=,.@-]{1,64}/){0,10}[A-Za-z0-9_+=,.@-]{1,64}$'
  # Set by the buildspec (env.variables): where the evidence for exported-variables goes.
  [GANTRY_EXPORTS_FILE]='^/[A-Za-z0-9._/-]{1,255}$'
  # Plan, approve, apply that plan (decision 049): the mode, plan n's number, the approved plan's key and sha256.
  [GANTRY_TF_MODE]='^(plan|apply)$'
  [GANTRY_TF_PLAN_ATTEMPT]='^[1-9]$'
  [GANTRY_TF_PLAN_KEY]='^evidence/[A-Za-z0-9][A-Za-z0-9_-]{0,79}/[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?/plan-[1-9]/tfplan$'
  [GANTRY_TF_PLAN_SHA256]='^[a-f0-9]{64}$'
)

# Characters no Gantry value ever carries. The patterns above refuse them too; this check names them,
# so a value carrying a command substitution or a quote is reported as what it is.
has_forbidden_character() {
  case "$1" in
    *'$'* | *'`'* | *';'* | *"'"* | *'"'* | *\\* | *$'\n'* | *$'\r'*) return 0 ;;
  esac
  return 1
}

check() {
  local name="$1" pattern="$2" value="${!1-}"
  if has_forbidden_character "$value"; then
    fail "$name contains a character no Gantry value may carry (\$, \`, ;, a quote, a backslash or a line break): $(printf '%q' "${value:0:100}")"
  fi
  [[ "$value" =~ $pattern ]] || fail "$name does not match $pattern (got $(printf '%q' "${value:0:100}"))"
}

# Refuse any GANTRY_* variable this driver does not know: every one it receives is validated.
while IFS= read -r name; do
  if [[ "$name" == GANTRY_* && -z "${PATTERNS[$name]+set}" && -z "${OPTIONAL_PATTERNS[$name]+set}" ]]; then
    fail "$name is not a variable the Terraform driver accepts"
  fi
done < <(compgen -e)

for name in "${!PATTERNS[@]}"; do
  [[ -n "${!name-}" ]] || fail "$name is not set"
  check "$name" "${PATTERNS[$name]}"
done
for name in "${!OPTIONAL_PATTERNS[@]}"; do
  if [[ -n "${!name-}" ]]; then check "$name" "${OPTIONAL_PATTERNS[$name]}"; fi
done

# The working directory is inside the module archive: relative, without a `..` segment.
if [[ "$GANTRY_TF_WORKDIR" == /* || "/$GANTRY_TF_WORKDIR/" == */../* ]]; then
  fail "GANTRY_TF_WORKDIR must be a directory inside the module archive, without a .. segment (got $GANTRY_TF_WORKDIR)"
fi

# The mode's inputs, and only those: a plan run names its number; an apply run the approved plan of THIS release and stage.
mode="${GANTRY_TF_MODE-}"
case "$mode" in
  plan)
    [[ -n "${GANTRY_TF_PLAN_ATTEMPT-}" ]] || fail "GANTRY_TF_MODE=plan needs GANTRY_TF_PLAN_ATTEMPT (the plan's number, 1-9)"
    [[ -z "${GANTRY_TF_PLAN_KEY-}${GANTRY_TF_PLAN_SHA256-}" ]] || fail "GANTRY_TF_MODE=plan takes no GANTRY_TF_PLAN_KEY or GANTRY_TF_PLAN_SHA256 (those name a plan to apply)"
    [[ "$GANTRY_KIND" == deploy ]] || fail "GANTRY_TF_MODE=plan is for a deploy, not a $GANTRY_KIND"
    ;;
  apply)
    [[ -n "${GANTRY_TF_PLAN_KEY-}" && -n "${GANTRY_TF_PLAN_SHA256-}" ]] || fail "GANTRY_TF_MODE=apply needs GANTRY_TF_PLAN_KEY and GANTRY_TF_PLAN_SHA256 (the approved saved plan)"
    [[ -z "${GANTRY_TF_PLAN_ATTEMPT-}" ]] || fail "GANTRY_TF_MODE=apply takes no GANTRY_TF_PLAN_ATTEMPT"
    [[ "$GANTRY_KIND" == deploy ]] || fail "GANTRY_TF_MODE=apply is for a deploy, not a $GANTRY_KIND"
    [[ "$GANTRY_TF_PLAN_KEY" == "evidence/${GANTRY_RELEASE_ID}/${GANTRY_STAGE}/plan-"[1-9]"/tfplan" ]] ||
      fail "GANTRY_TF_PLAN_KEY is not a saved plan of release $GANTRY_RELEASE_ID, stage $GANTRY_STAGE (got $GANTRY_TF_PLAN_KEY)"
    ;;
  '')
    [[ -z "${GANTRY_TF_PLAN_ATTEMPT-}${GANTRY_TF_PLAN_KEY-}${GANTRY_TF_PLAN_SHA256-}" ]] || fail "GANTRY_TF_PLAN_* is set without GANTRY_TF_MODE"
    ;;
esac

# terraform runs with exactly the arguments below: extra arguments from the environment are refused.
while IFS= read -r name; do
  if [[ "$name" == TF_CLI_ARGS* ]]; then fail "$name is set; the Terraform driver runs terraform with its own arguments only"; fi
done < <(compgen -e)

for tool in terraform aws unzip python3 sha256sum; do
  command -v "$tool" >/dev/null || fail "$tool is not installed"
done

export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
image="${GANTRY_IMAGE_REPOSITORY}@${GANTRY_DIGEST}"
evidence_key="evidence/${GANTRY_RELEASE_ID}/${GANTRY_STAGE}/${GANTRY_KIND}"
# A plan-only run keeps plan n's files apart: the approvers approve that saved plan, the apply fetches it from there.
if [[ "$mode" == plan ]]; then evidence_key="evidence/${GANTRY_RELEASE_ID}/${GANTRY_STAGE}/plan-${GANTRY_TF_PLAN_ATTEMPT}"; fi
evidence="s3://${GANTRY_EVIDENCE_BUCKET}/${evidence_key}"
if [[ -n "${GANTRY_EXPORTS_FILE-}" ]]; then : >"$GANTRY_EXPORTS_FILE"; fi

# NAME=value lines for the buildspec's exported-variables, each value checked against its pattern first
# (the workflow checks them again): a value that does not match is left out, never written.
export_evidence() {
  local name="$1" value="$2" pattern="$3"
  [[ -n "${GANTRY_EXPORTS_FILE-}" ]] || return 0
  if [[ "$value" =~ $pattern ]]; then
    printf '%s=%s\n' "$name" "$value" >>"$GANTRY_EXPORTS_FILE"
  else
    printf 'gantry-terraform: %s not exported (does not match %s)\n' "$name" "$pattern" >&2
  fi
}
work="$(mktemp -d)"
mkdir "$work/module" "$work/evidence"

printf 'gantry-terraform: %s %s %s to %s (release %s, module %s in %s)\n' \
  "$GANTRY_KIND" "$GANTRY_SERVICE" "$image" "$GANTRY_STAGE" "$GANTRY_RELEASE_ID" "$GANTRY_TF_WORKDIR" "$GANTRY_TF_SOURCE"
terraform version

# ------------------------------------------------------------------ the module
aws s3 cp "$GANTRY_TF_SOURCE" "$work/source.zip" --only-show-errors
source_sha256="$(sha256sum "$work/source.zip")"
source_sha256="${source_sha256%% *}"
printf 'gantry-terraform: evidence source %s sha256 %s\n' "$GANTRY_TF_SOURCE" "$source_sha256"
unzip -q "$work/source.zip" -d "$work/module"

root="$(cd "$work/module" && pwd -P)"
[[ -d "$work/module/$GANTRY_TF_WORKDIR" ]] || fail "the module archive $GANTRY_TF_SOURCE has no directory $GANTRY_TF_WORKDIR"
cd "$work/module/$GANTRY_TF_WORKDIR"
here="$(pwd -P)"
# A symbolic link in the archive must not lead the run out of it.
[[ "$here" == "$root" || "$here" == "$root"/* ]] || fail "$GANTRY_TF_WORKDIR leads out of the module archive"

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

# A module that talks to the cluster (kubernetes or helm provider) finds it through KUBE_CONFIG_PATH.
KUBECONFIG="$work/kubeconfig"
KUBE_CONFIG_PATH="$KUBECONFIG"
export KUBECONFIG KUBE_CONFIG_PATH
aws eks update-kubeconfig --name "$GANTRY_CLUSTER_NAME" --region "$GANTRY_CLUSTER_REGION" --kubeconfig "$KUBECONFIG" "${cluster_profile[@]}"

# ------------------------------------------------------------------ init and plan
# The backend is the module's own (its backend block); a module without one would keep its state in
# this build container, which is gone when the build ends. A .terraform directory packed into the
# archive (another machine's providers and backend settings) is dropped, so init starts clean.
rm -rf .terraform
terraform init -input=false -no-color
[[ -f .terraform/terraform.tfstate ]] ||
  fail "the module in $GANTRY_TF_WORKDIR declares no backend: its state would be lost when the build ends (see docs/drivers.md)"

if [[ "$mode" == apply ]]; then
  # The approved saved plan, and nothing else: fetched by its key, refused unless its sha256 is the approved one.
  aws s3 cp "s3://${GANTRY_EVIDENCE_BUCKET}/${GANTRY_TF_PLAN_KEY}" tfplan --only-show-errors
  saved_sha256="$(sha256sum tfplan)"
  saved_sha256="${saved_sha256%% *}"
  if [[ "$saved_sha256" != "$GANTRY_TF_PLAN_SHA256" ]]; then
    export_evidence TF_PLAN_RESULT mismatch '^(planned|refused|applied|stale|mismatch)$'
    fail "refusing to apply: the saved plan $GANTRY_TF_PLAN_KEY has sha256 $saved_sha256, not the approved $GANTRY_TF_PLAN_SHA256"
  fi
  printf 'gantry-terraform: evidence saved-plan %s sha256 %s (the approved one)\n' "$GANTRY_TF_PLAN_KEY" "$saved_sha256"
  export_evidence TF_SAVED_PLAN_SHA256 "$saved_sha256" '^[a-f0-9]{64}$'
else
  terraform plan -input=false -no-color -lock-timeout=5m -out=tfplan -var "${GANTRY_TF_IMAGE_VARIABLE}=${image}"
fi
terraform show -json tfplan >"$work/evidence/plan.json"
(cd "$work/evidence" && sha256sum plan.json >plan.json.sha256)
read -r plan_sha256 _ <"$work/evidence/plan.json.sha256"

# The plan's summary: line 1 the number of resources it destroys (deleted or replaced), line 2 a
# sentence for people; summary.json the same as data. Resource values never leave plan.json.
GANTRY_PLAN_SHA256="$plan_sha256" GANTRY_SOURCE_SHA256="$source_sha256" python3 -c '
import json, os, sys
plan_path, summary_path = sys.argv[1], sys.argv[2]
with open(plan_path, encoding="utf-8") as f:
    plan = json.load(f)
counts = {"create": 0, "update": 0, "replace": 0, "delete": 0, "forget": 0, "no-op": 0, "other": 0}
destroys = []
for rc in plan.get("resource_changes") or []:
    if rc.get("mode", "managed") != "managed":
        continue
    actions = (rc.get("change") or {}).get("actions") or []
    if "delete" in actions and "create" in actions:
        kind = "replace"
    elif "delete" in actions:
        kind = "delete"
    elif actions in (["create"], ["update"], ["no-op"]):
        kind = actions[0]
    elif "forget" in actions:
        kind = "forget"
    else:
        kind = "other"
    counts[kind] += 1
    if kind in ("replace", "delete"):
        address = str(rc.get("address", "?")) + (" (deposed " + str(rc["deposed"]) + ")" if rc.get("deposed") else "")
        destroys.append({"address": address, "action": kind})
env = os.environ
summary = {
    "releaseId": env["GANTRY_RELEASE_ID"], "kind": env["GANTRY_KIND"], "service": env["GANTRY_SERVICE"],
    "stage": env["GANTRY_STAGE"], "digest": env["GANTRY_DIGEST"],
    "image": env["GANTRY_IMAGE_REPOSITORY"] + "@" + env["GANTRY_DIGEST"],
    "source": env["GANTRY_TF_SOURCE"], "sourceSha256": env["GANTRY_SOURCE_SHA256"], "workdir": env["GANTRY_TF_WORKDIR"],
    "planSha256": env["GANTRY_PLAN_SHA256"], "terraformVersion": plan.get("terraform_version"),
    "allowDestroy": env["GANTRY_TF_ALLOW_DESTROY"] == "true",
    "changes": counts, "destroys": destroys,
}
with open(summary_path, "w", encoding="utf-8") as f:
    json.dump(summary, f, sort_keys=True, separators=(",", ":"))
    f.write("\n")
sentence = "{create} to create, {update} to update, {replace} to replace, {delete} to delete".format(**counts)
if destroys:
    listed = ", ".join(d["address"] + " [" + d["action"] + "]" for d in destroys[:20])
    more = " and {} more".format(len(destroys) - 20) if len(destroys) > 20 else ""
    sentence += " (destroys " + listed + more + ")"
print(len(destroys))
print(sentence)
# As terraform itself counts in "Plan: N to add, N to change, N to destroy" (a replacement adds and destroys).
print(json.dumps({"add": counts["create"] + counts["replace"], "change": counts["update"], "destroy": counts["delete"] + counts["replace"]}, separators=(",", ":")))
' "$work/evidence/plan.json" "$work/evidence/summary.json" >"$work/plan-summary.txt"
{
  IFS= read -r destroy_count
  IFS= read -r plan_summary
  IFS= read -r plan_counts
} <"$work/plan-summary.txt"

# ------------------------------------------------------------------ evidence, before any decision
for file in plan.json plan.json.sha256 summary.json; do
  aws s3 cp "$work/evidence/$file" "$evidence/$file" --only-show-errors
done
printf 'gantry-terraform: evidence plan %s/plan.json sha256 %s\n' "$evidence" "$plan_sha256"
printf 'gantry-terraform: evidence plan-summary %s\n' "$(<"$work/evidence/summary.json")"
printf 'gantry-terraform: plan: %s\n' "$plan_summary"
# (A plan-only run reports its saved plan instead, below: the deploy's plan JSON evidence is the apply's.)
if [[ "$mode" != plan ]]; then
  export_evidence TF_PLAN_SHA256 "$plan_sha256" '^[a-f0-9]{64}$'
  export_evidence TF_PLAN_KEY "${evidence_key}/plan.json" '^evidence/[A-Za-z0-9_-]+/[a-z0-9-]+/(deploy|rollback)/plan\.json$'
fi
export_evidence TF_PLAN_SUMMARY "$plan_counts" '^\{"add":[0-9]+,"change":[0-9]+,"destroy":[0-9]+\}$'

if [[ "$mode" == plan ]]; then
  # The binary saved plan, for the apply of this plan once it is approved, and its sha256: the hash approvers approve.
  saved_sha256="$(sha256sum tfplan)"
  saved_sha256="${saved_sha256%% *}"
  aws s3 cp tfplan "$evidence/tfplan" --only-show-errors
  printf 'gantry-terraform: evidence saved-plan %s/tfplan sha256 %s\n' "$evidence" "$saved_sha256"
  export_evidence TF_SAVED_PLAN_SHA256 "$saved_sha256" '^[a-f0-9]{64}$'
  export_evidence TF_SAVED_PLAN_KEY "${evidence_key}/tfplan" '^evidence/[A-Za-z0-9_-]+/[a-z0-9-]+/plan-[1-9]/tfplan$'
fi

if [[ "$destroy_count" -gt 0 && "$GANTRY_TF_ALLOW_DESTROY" != 'true' ]]; then
  if [[ "$mode" == plan ]]; then export_evidence TF_PLAN_RESULT refused '^(planned|refused|applied|stale|mismatch)$'; fi
  fail "refusing to apply: the plan would destroy $destroy_count resource(s) and stage $GANTRY_STAGE does not allow it (deploy.allowDestroy): $plan_summary"
fi

if [[ "$mode" == plan ]]; then
  export_evidence TF_PLAN_RESULT planned '^(planned|refused|applied|stale|mismatch)$'
  echo "gantry-terraform: plan ${GANTRY_TF_PLAN_ATTEMPT} of ${GANTRY_DIGEST} for ${GANTRY_STAGE} saved; nothing applied (saved plan sha256 ${saved_sha256})"
  exit 0
fi

# ------------------------------------------------------------------ apply exactly the saved plan
status=0
# The output is kept (and shown as it comes) to tell a stale saved plan from any other failure.
{ terraform apply -input=false -no-color -lock-timeout=5m tfplan 2>&1 || echo "$?" >"$work/apply.status"; } | tee "$work/apply.log"
if [[ -s "$work/apply.status" ]]; then status="$(<"$work/apply.status")"; fi
if [[ "$status" -ne 0 ]]; then
  if [[ "$mode" == apply ]] && grep -q 'Saved plan is stale' "$work/apply.log"; then
    # Terraform applied nothing: the state changed after the plan was made. Gantry plans again and asks again.
    export_evidence TF_PLAN_RESULT stale '^(planned|refused|applied|stale|mismatch)$'
    printf 'gantry-terraform: the saved plan %s is stale (the state moved since it was made): nothing applied\n' "$GANTRY_TF_PLAN_KEY" >&2
    exit 3
  fi
  fail "terraform apply failed with exit code $status (plan sha256 $plan_sha256)"
fi
if [[ "$mode" == apply ]]; then export_evidence TF_PLAN_RESULT applied '^(planned|refused|applied|stale|mismatch)$'; fi
echo "gantry-terraform: ${GANTRY_KIND} of ${GANTRY_DIGEST} to ${GANTRY_STAGE} succeeded (plan sha256 ${plan_sha256})"
