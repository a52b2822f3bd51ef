"""NVA_HA_STATE_CONNECTION resolved as Functions resolves a binding's connection; bad combinations rejected by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.adapters.connection import StateConnection, connection_settings, resolve_state_connection
from shared.edge.settings import build_engine
from shared.errors import ConfigError

CONN = "DefaultEndpointsProtocol=https;AccountName=nvastate;AccountKey=a2V5;EndpointSuffix=core.windows.net"


def test_default_is_azure_web_jobs_storage_connection_string() -> None:
    got = resolve_state_connection({"AzureWebJobsStorage": CONN})
    assert got == StateConnection("AzureWebJobsStorage", connection_string=CONN)
    assert not got.identity_based


def test_default_identity_based_by_account_name_with_user_assigned_identity() -> None:
    got = resolve_state_connection({"AzureWebJobsStorage__accountName": "appstore1",
                                    "AzureWebJobsStorage__credential": "managedidentity",
                                    "AzureWebJobsStorage__clientId": "1111"})
    assert got == StateConnection("AzureWebJobsStorage", endpoint="https://appstore1.table.core.windows.net", client_id="1111")


def test_named_connection_is_used_and_host_storage_ignored() -> None:
    env = {"AzureWebJobsStorage": CONN.replace("nvastate", "hostregion1"), "NVA_HA_STATE_CONNECTION": "NvaState",
           "NvaState__tableServiceUri": "https://nvastate.table.core.windows.net/"}
    got = resolve_state_connection(env)
    assert got == StateConnection("NvaState", endpoint="https://nvastate.table.core.windows.net", client_id=None)


def test_azure_web_jobs_prefixed_setting_is_found_first_as_functions_does() -> None:
    env = {"NVA_HA_STATE_CONNECTION": "NvaState", "AzureWebJobsNvaState": CONN,
           "NvaState": CONN.replace("nvastate", "other")}
    assert resolve_state_connection(env).setting == "AzureWebJobsNvaState"
    assert resolve_state_connection({"NVA_HA_STATE_CONNECTION": "NvaState", "NvaState": CONN}).setting == "NvaState"


def test_development_storage_shortcut_is_a_connection_string() -> None:
    assert resolve_state_connection({"AzureWebJobsStorage": "UseDevelopmentStorage=true"}).connection_string


@pytest.mark.parametrize(("env", "message"), [
    ({}, r"NVA_HA_STATE_CONNECTION: connection 'AzureWebJobsStorage' is not set: set AzureWebJobsStorage to a connection "
         r"string, or AzureWebJobsStorage__tableServiceUri / AzureWebJobsStorage__accountName"),
    ({"NVA_HA_STATE_CONNECTION": "NvaState", "AzureWebJobsStorage": CONN},
     r"connection 'NvaState' is not set: set AzureWebJobsNvaState or NvaState .*NvaState__tableServiceUri"),
    ({"NVA_HA_STATE_CONNECTION": "NvaState", "NvaState": CONN, "NvaState__accountName": "nvastate"},
     r"NvaState: both a connection string and identity-based properties \(NvaState__accountName\) are set"),
    ({"NVA_HA_STATE_CONNECTION": "NvaState", "NvaState__accountName": "nvastate",
      "NvaState__tableServiceUri": "https://nvastate.table.core.windows.net"},
     r"NvaState__tableServiceUri and NvaState__accountName: set one of the two, not both"),
    ({"NVA_HA_STATE_CONNECTION": "NvaState", "NvaState__credential": "managedidentity"},
     r"NvaState: set a connection string, or NvaState__tableServiceUri / NvaState__accountName"),
    ({"NVA_HA_STATE_CONNECTION": "NvaState", "NvaState__accountName": "nvastate", "NvaState__clientId": "1111"},
     r"NvaState__clientId: needs NvaState__credential=managedidentity"),
    ({"NVA_HA_STATE_CONNECTION": "NvaState", "NvaState__accountName": "nvastate", "NvaState__credential": "clientsecret"},
     r"NvaState__credential: 'clientsecret' is not supported"),
    ({"NVA_HA_STATE_CONNECTION": "NvaState", "NvaState__accountName": "NVA_State"},
     r"NvaState__accountName: 'NVA_State' is not a storage account name"),
    ({"NVA_HA_STATE_CONNECTION": "NvaState", "NvaState__tableServiceUri": "nvastate.table.core.windows.net"},
     r"NvaState__tableServiceUri: 'nvastate.table.core.windows.net' is not an http\(s\) URL"),
    ({"NVA_HA_STATE_CONNECTION": "NvaState", "NvaState__accountName": "nvastate", "NvaState__serviceUri": "https://x"},
     r"NvaState__serviceUri: not a property of a Table connection"),
    ({"NVA_HA_STATE_CONNECTION": "NvaState", "NvaState": "https://nvastate.table.core.windows.net"},
     r"NvaState: not a storage connection string .* set NvaState__tableServiceUri or NvaState__accountName instead"),
    ({"NVA_HA_STATE_CONNECTION": "NvaState__accountName", "NvaState__accountName": "nvastate"},
     r"NVA_HA_STATE_CONNECTION: 'NvaState__accountName' is not a connection name"),
])
def test_bad_settings_are_rejected_naming_them(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_state_connection(env)


def test_every_problem_of_an_identity_connection_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as err:
        resolve_state_connection({"NVA_HA_STATE_CONNECTION": "S", "S__accountName": "Bad!", "S__clientId": "1"})
    assert len(err.value.problems) == 2


def test_a_bad_state_connection_rejects_the_settings_before_anything_is_built() -> None:
    env = {"NVA_HA_CONFIG_FILE": "nva-ha.example.json", "NVA_HA_STATE_CONNECTION": "NvaState", "AzureWebJobsStorage": CONN}
    with pytest.raises(ConfigError, match=r"^NVA_HA_STATE_CONNECTION: connection 'NvaState' is not set"):
        build_engine(env, Path(__file__).resolve().parents[2])


def test_settings_that_change_the_connection_are_noticed() -> None:
    env = {"NVA_HA_STATE_CONNECTION": "NvaState", "NvaState__accountName": "a", "AzureWebJobsStorage": CONN, "Other": "x"}
    assert connection_settings(env) == [("NVA_HA_STATE_CONNECTION", "NvaState"), ("NvaState__accountName", "a")]
