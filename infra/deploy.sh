#!/usr/bin/env bash
# Deploys nva-failover: the infrastructure (az deployment group create on main.bicep), then the code
# (func azure functionapp publish). Needs: az (logged in), func (Azure Functions Core Tools 4), python3.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: infra/deploy.sh -g RESOURCE_GROUP -p PARAMETERS_JSON [-l LOCATION] [-s SUBSCRIPTION] [--infra-only]

  -g RESOURCE_GROUP   resource group for the function app and its resources (created if missing)
  -p PARAMETERS_JSON  deployment parameters, e.g. infra/main.parameters.example.json:
                        namePrefix             3-11 lower-case letters/digits
                        nvaHaConfig            the configuration document (contract section 2)
                        probeIntervalSeconds   seconds between probe runs (default 5)
                        vnetName, vnetResourceGroup, integrationSubnetPrefix
                                               where the app's delegated integration subnet is created
                        networkResourceGroups  [{subscriptionId, resourceGroup}] holding NICs, public IPs, route tables
                        discoverySubscriptions subscriptions whose route tables are discovered
                        alertEmails, alertWebhooks ({"urls": [...]})
                        deployInternalLoadBalancer, internalLoadBalancer ({subnetName, frontendIp,
                                               backendAddresses, probePort}): optional HA-ports internal LB
  -l LOCATION         region for a new resource group (default: westeurope)
  -s SUBSCRIPTION     subscription to deploy into (default: az's current one)
  --infra-only        deploy the infrastructure, not the code
USAGE
}

group="" params="" location="westeurope" subscription="" infra_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    -g) group="${2:-}"; shift 2 ;;
    -p) params="${2:-}"; shift 2 ;;
    -l) location="${2:-}"; shift 2 ;;
    -s) subscription="${2:-}"; shift 2 ;;
    --infra-only) infra_only=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "deploy.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
[ -n "$group" ] || { echo "deploy.sh: -g RESOURCE_GROUP is required" >&2; exit 2; }
[ -f "$params" ] || { echo "deploy.sh: -p PARAMETERS_JSON must name a file (got '$params')" >&2; exit 2; }
for tool in az func; do
  if [ "$tool" = func ] && [ "$infra_only" = 1 ]; then continue; fi
  command -v "$tool" >/dev/null || { echo "deploy.sh: '$tool' is not installed" >&2; exit 2; }
done

here=$(cd "$(dirname "$0")" && pwd)
[ -n "$subscription" ] && az account set --subscription "$subscription"
az group create --name "$group" --location "$location" --output none
deployment="nva-failover-$(date +%Y%m%d%H%M%S)"
az deployment group create --resource-group "$group" --name "$deployment" \
  --template-file "$here/main.bicep" --parameters "@$params" --output none
app=$(az deployment group show --resource-group "$group" --name "$deployment" \
  --query properties.outputs.functionAppName.value --output tsv)
echo "deployed infrastructure; function app: $app"
if [ "$infra_only" = 0 ]; then
  (cd "$here/.." && func azure functionapp publish "$app" --python)
fi
echo "function key for the HTTP API: az functionapp keys list -g $group -n $app"
