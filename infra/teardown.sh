#!/usr/bin/env bash
# Removes a deployment of nva-failover: the failover role's assignments and definition (they live outside the
# resource group), then the resource group itself. NICs, route tables and NVAs are not touched.
set -euo pipefail

usage() {
  echo "usage: infra/teardown.sh -g RESOURCE_GROUP [--yes]   (deletes the group and the nva-failover role)"
}
group="" yes=0
while [ $# -gt 0 ]; do
  case "$1" in
    -g) group="${2:-}"; shift 2 ;;
    --yes) yes=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "teardown.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
[ -n "$group" ] || { echo "teardown.sh: -g RESOURCE_GROUP is required" >&2; exit 2; }
command -v az >/dev/null || { echo "teardown.sh: 'az' is not installed" >&2; exit 2; }
if [ "$yes" != 1 ]; then
  read -r -p "Delete resource group '$group' and its nva-failover role? [y/N] " answer
  [ "$answer" = y ] || { echo "nothing deleted"; exit 0; }
fi
for deployment in $(az deployment group list -g "$group" --query "[?starts_with(name, 'nva-failover-')].name" -o tsv); do
  role=$(az deployment group show -g "$group" -n "$deployment" --query properties.outputs.roleDefinitionId.value -o tsv || true)
  principal=$(az deployment group show -g "$group" -n "$deployment" --query properties.outputs.principalId.value -o tsv || true)
  if [ -n "$role" ] && [ -n "$principal" ]; then
    az role assignment delete --assignee "$principal" --role "$role" --output none || true
    az role definition delete --name "$role" --output none || true
  fi
done
az group delete --name "$group" --yes
echo "deleted $group"
