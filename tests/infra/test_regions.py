"""Deployments in several regions: the state table in its own redundant account or joined from another deployment,
the NVAs' network joined by peering, the timer always warm, the Python version one the tests cover."""

from __future__ import annotations

import json
import sys

from tests.infra.bicep import app_settings, parsed, resource

TABLE_DATA_CONTRIBUTOR = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"


def allowed(param: str, file: str = "main.bicep") -> list[str]:
    decorators = parsed(file)["parameters"][param]["decorators"]
    return [v for d in decorators if d["type"] == "allowed" for v in d["argument"]]


def test_state_connection_is_identity_based_and_points_at_the_state_account() -> None:
    settings = app_settings()
    assert settings["NVA_HA_STATE_CONNECTION"] == "NvaState"
    assert settings["NvaState__credential"] == "managedidentity"
    assert json.dumps(settings["NvaState__clientId"]).count('"identity"') == 1 and "clientId" in json.dumps(settings["NvaState__clientId"])
    assert settings["NvaState__tableServiceUri"] == "stateTableEndpoint"
    assert "NvaState" not in settings and "NvaState__accountName" not in settings  # one form only (see shared/adapters/connection.py)
    assert "https://${stateAccountName}.table." in parsed("main.bicep")["variables"]["stateTableEndpoint"]["value"]


def test_state_storage_modes_and_redundancy() -> None:
    assert allowed("stateStorage") == ["host", "dedicated", "existing"]
    assert set(allowed("stateAccountSku")) <= {"Standard_ZRS", "Standard_GZRS", "Standard_RAGZRS"}  # zone-redundant at least
    assert parsed("main.bicep")["parameters"]["stateAccountSku"]["default"] == "Standard_GZRS"
    account = resource("account", "modules/state-account.bicep")
    assert account["sku"]["name"] == "sku"
    assert set(allowed("sku", "modules/state-account.bicep")) == set(allowed("stateAccountSku"))
    props = account["properties"]
    assert props["allowSharedKeyAccess"] is False and props["minimumTlsVersion"] == "TLS1_2"


def test_the_state_table_is_granted_to_the_app_identity_in_every_mode() -> None:
    for file in ("modules/state-account.bicep", "modules/state-access.bicep"):
        doc = parsed(file)
        assert doc["variables"]["tableDataContributor"]["value"] == TABLE_DATA_CONTRIBUTOR
        grant = resource("tableAccess", file)
        assert grant["scope"] == "table"  # the table only, not the account
        assert grant["properties"]["principalId"] == "principalId"
    modules = parsed("main.bicep")["modules"]
    assert {"stateAccount", "stateAccess", "peerToNvas", "peerFromNvas"} <= set(modules)
    for name in ("stateAccount", "stateAccess"):
        given = json.dumps(modules[name]["config"]["config"]["params"]["principalId"])
        assert '"identity"' in given and '"principalId"' in given
        assert modules[name]["config"]["condition"]["operator"]["operands"]["operand_2"] == {
            "stateAccount": "dedicated", "stateAccess": "existing"}[name]


def test_timer_group_is_always_ready_and_http_is_not_tied_to_it() -> None:
    scale = resource("app")["properties"]["functionAppConfig"]["scaleAndConcurrency"]
    assert scale["alwaysReady"] == [{"name": "function:probe", "instanceCount": "probeAlwaysReady"},
                                    {"name": "function:execute", "instanceCount": 1}]  # the queue-triggered executor
    bounds = {d["type"]: d["argument"] for d in parsed("main.bicep")["parameters"]["probeAlwaysReady"]["decorators"]
              if d["type"] in {"min_value", "max_value"}}
    assert bounds["min_value"] == 1 and parsed("main.bicep")["parameters"]["probeAlwaysReady"]["default"] == 1


def test_python_version_is_one_flex_offers_and_the_tests_run_on() -> None:
    versions = allowed("pythonVersion")
    flex = {"3.10", "3.11", "3.12", "3.13"}
    assert versions and set(versions) <= flex
    assert f"{sys.version_info.major}.{sys.version_info.minor}" in versions
    assert parsed("main.bicep")["parameters"]["pythonVersion"]["default"] in versions
