"""The templates parse, set every setting the code reads, alert only on events the code emits, and lock things down."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from shared.domain.config import parse_config
from shared.events import CONTRACT_EVENTS
from tests.infra.bicep import INFRA, app_settings, bicep_files, iso_seconds, parsed, resource, role_actions

ROOT = INFRA.parent
# Settings the code reads that a deployment may leave unset: defaults, the other form of a setting, local emulation.
OPTIONAL = {
    "NVA_HA_CONFIG_FILE": "the configuration travels in NVA_HA_CONFIG",
    "NVA_HA_POLL_INTERVAL_SECONDS": "default 1 s",
    "AzureWebJobsStorage": "identity-based: AzureWebJobsStorage__accountName",
    "AzureWebJobsStorage__tableServiceUri": "identity-based: AzureWebJobsStorage__accountName",
    "AzureWebJobsStorage__queueServiceUri": "identity-based: AzureWebJobsStorage__accountName",
    "IDENTITY_ENDPOINT": "set by the platform",
    "REQUESTS_CA_BUNDLE": "emulation only",
}


def settings_the_code_reads() -> set[str]:
    names: set[str] = set()
    for path in [*(ROOT / "shared").rglob("*.py"), ROOT / "function_app.py"]:
        text = path.read_text()
        names |= set(re.findall(r'"((?:NVA_HA|AzureWebJobsStorage|AZURE_CLIENT|PYTHON_APPLICATIONINSIGHTS)[A-Za-z_]*)"', text))
        names |= set(re.findall(r"%([A-Z_]+)%", text))
    return names


@pytest.mark.parametrize("name", bicep_files())
def test_every_bicep_file_parses(name: str) -> None:
    doc = parsed(name)
    assert doc.get("resources") or doc.get("modules"), name


def test_every_setting_the_code_reads_is_set() -> None:
    read = settings_the_code_reads()
    assert {"NVA_HA_CONFIG", "NVA_HA_PROBE_SCHEDULE", "NVA_HA_STATE_TABLE", "NVA_HA_ARM_ENDPOINT", "AZURE_CLIENT_ID"} <= read
    settings = app_settings()
    unset = read - set(settings) - set(OPTIONAL)
    assert not unset, f"read by the code, not set by infra/main.bicep: {sorted(unset)}"
    assert {"AzureWebJobsStorage__accountName", "AzureWebJobsStorage__credential", "AzureWebJobsStorage__clientId"} <= set(settings)
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings["PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY"] == "true"
    assert "FUNCTIONS_WORKER_RUNTIME" not in settings  # Flex Consumption sets the runtime in functionAppConfig


def emitted_events() -> set[str]:
    text = "\n".join(p.read_text() for p in (ROOT / "shared").rglob("*.py"))
    return set(re.findall(r'emit\(\s*"([A-Za-z]+)"', text)) | set(re.findall(r'Event\("([A-Za-z]+)"', text)) | {
        "FailoverStarted", "FailoverResumed"}


def alert_queries() -> dict[str, str]:
    events = parsed("main.bicep")["variables"]["alertEvents"]["value"]
    queries = {e["rule"]: f'customEvents | where name == "{e["name"]}"{e["where"]}' for e in events}
    heartbeat = resource("heartbeat")["properties"]["criteria"]["allOf"][0]["query"]
    queries["heartbeat"] = heartbeat
    return queries


def test_alerts_name_only_events_the_code_emits() -> None:
    queries = alert_queries()
    assert {"FailoverCompleted", "FailoverFailed", "NoHealthyNva", "DriftDetected", "heartbeat"} <= set(queries)
    emitted = emitted_events()
    for rule, query in queries.items():
        named = set(re.findall(r'name == "([A-Za-z]+)"', query))
        assert named, rule
        assert named <= emitted & set(CONTRACT_EVENTS), (rule, named)
    rule = resource("eventAlerts")["config"]["properties"]  # a resource loop nests its body under config
    assert 'customEvents | where name == "${event.name}"' in rule["criteria"]["allOf"][0]["query"]


def test_heartbeat_window_fits_the_schedule() -> None:
    params = parsed("main.bicep")["parameters"]["probeIntervalSeconds"]
    longest = max(d["argument"] for d in params["decorators"] if d["type"] == "max_value")
    assert app_settings()["NVA_HA_PROBE_SCHEDULE"] == "*/${probeIntervalSeconds} * * * * *"
    props = resource("heartbeat")["properties"]
    window = iso_seconds(parsed("main.bicep")["variables"]["heartbeatWindow"]["value"])
    assert props["windowSize"] == props["evaluationFrequency"] == "heartbeatWindow"
    assert window >= 3 * longest, "the heartbeat window must hold several probe runs even at the longest interval"
    assert window <= 15 * 60, "a silent timer must alert within minutes"
    criteria = props["criteria"]["allOf"][0]
    assert (criteria["operator"], criteria["threshold"], criteria["timeAggregation"]) == ("LessThan", 1, "Count")


def test_local_auth_off_and_https_only() -> None:
    storage = resource("storage")["properties"]
    assert storage["allowSharedKeyAccess"] is False
    assert storage["supportsHttpsTrafficOnly"] is True and storage["minimumTlsVersion"] == "TLS1_2"
    assert storage["allowBlobPublicAccess"] is False
    assert resource("insights")["properties"]["DisableLocalAuth"] is True
    assert resource("workspace")["properties"]["features"]["disableLocalAuth"] is True
    app = resource("app")["properties"]
    assert app["httpsOnly"] is True and app["siteConfig"]["minTlsVersion"] == "1.2" and app["siteConfig"]["ftpsState"] == "Disabled"
    assert app["functionAppConfig"]["runtime"] == {"name": "python", "version": "pythonVersion"}  # see test_regions.py
    assert resource("plan")["sku"] == {"tier": "FlexConsumption", "name": "FC1"}
    assert app["virtualNetworkSubnetId"]
    delegation = resource("subnet", "modules/integration-subnet.bicep")["properties"]["delegations"][0]
    assert delegation["properties"]["serviceName"] == "Microsoft.App/environments"
    assert resource("identity")  # the app runs as a user-assigned identity
    assert list(resource("app")["identity"]["userAssignedIdentities"]) != []


def test_role_holds_no_wildcard_and_no_broad_builtin_role_is_used() -> None:
    actions = role_actions()
    assert actions and all("*" not in a for a in actions)
    assert len(set(actions)) == len(actions)
    broad = {"b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor", "4d97b98b-1d4f-4787-a291-c67834d212e7": "Network Contributor",
             "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner"}
    for path in INFRA.rglob("*.bicep"):
        text = path.read_text().lower()
        for guid, name in broad.items():
            assert guid not in text, f"{path.name} uses {name}"
    role = resource("role", "modules/nva-role.bicep")["properties"]
    assert role["type"] == "CustomRole" and role["permissions"][0]["notActions"] == []


def test_example_parameters_describe_a_valid_hub() -> None:
    params = json.loads((INFRA / "main.parameters.example.json").read_text())["parameters"]
    declared = parsed("main.bicep")["parameters"]
    assert set(params) <= set(declared)
    required = {n for n, p in declared.items() if "default" not in p}
    assert required <= set(params), f"the example misses {required - set(params)}"
    config = parse_config(params["nvaHaConfig"]["value"])
    assert [n.name for n in config.clusters[0].nvas] == ["fw-a", "fw-b"]


@pytest.mark.parametrize("script", ["deploy.sh", "teardown.sh"])
def test_scripts(script: str) -> None:
    path = INFRA / script
    assert subprocess.run(["bash", "-n", str(path)], check=False).returncode == 0
    helped = subprocess.run(["bash", str(path), "--help"], capture_output=True, text=True, check=False)
    assert helped.returncode == 0 and "usage:" in helped.stdout
    bad = subprocess.run(["bash", str(path), "--bogus"], capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "unknown argument" in bad.stderr
    assert Path(path).stat().st_mode & 0o111


def test_waivers_have_reasons() -> None:
    waivers = json.loads((INFRA / "checkov-waivers.json").read_text())["waivers"]
    assert waivers and all(w["id"].startswith("CKV_") and len(w["reason"]) > 40 for w in waivers)


def test_a_completed_failover_with_skipped_writes_alerts_like_a_failed_one() -> None:
    events = parsed("main.bicep")["variables"]["alertEvents"]["value"]
    rules = {e["rule"]: e for e in events}
    assert len(rules) == len(events), "each alert rule has its own name"
    skipped = rules["FailoverCompletedWithSkipped"]
    assert skipped["name"] == "FailoverCompleted"
    assert skipped["severity"] == rules["FailoverFailed"]["severity"] < rules["FailoverCompleted"]["severity"]
    assert skipped["where"] == " | where array_length(todynamic(tostring(customDimensions.skipped))) > 0"
    rule = resource("eventAlerts")["config"]
    assert rule["name"] == "${appName}-${event.rule}" and rule["properties"]["displayName"] == "nva-failover: ${event.rule}"


def test_readiness_alert_fires_on_not_ready_only_and_blocked_failovers_alert() -> None:
    events = {e["name"]: e for e in parsed("main.bicep")["variables"]["alertEvents"]["value"]}
    assert events["ReadinessChanged"]["where"] == ' | where tostring(customDimensions.ready) =~ "false"'
    assert events["FailoverBlocked"]["where"] == ""
    assert events["SplitBrain"]["where"] == ""  # appliance-led: two claims, nothing moves
    rule = resource("eventAlerts")["config"]["properties"]
    assert "${event.where}" in rule["criteria"]["allOf"][0]["query"]
    role = parsed("modules/nva-role.bicep")["parameters"]["joinLoadBalancersAndAsgs"]
    assert role["default"] is True  # safe: a NIC in a pool or ASG can still be written
    assert "Microsoft.Authorization/permissions/read" in role_actions(join_load_balancers_and_asgs=False)
