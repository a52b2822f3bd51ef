"""The infra grants what the atomic floating IP move needs (shared.domain.needs): the action on the virtual network in the failover
role, and the feature read in a role of its own, assigned on the subscriptions the parameter names (never a NIC write there)."""

from __future__ import annotations

from shared.domain.needs import FEATURE_READ, MOVE_IP_CONFIGURATIONS
from tests.infra.bicep import parsed


def test_the_failover_role_holds_the_move_action_by_default() -> None:
    role = parsed("modules/nva-role.bicep")
    assert role["variables"]["ipConfigurationMoves"]["value"] == [MOVE_IP_CONFIGURATIONS]
    assert role["parameters"]["moveIpConfigurations"]["default"] is True


def test_the_feature_reader_role_reads_features_only_and_is_assigned_on_the_named_subscriptions() -> None:
    role = parsed("modules/feature-reader-role.bicep")["resources"]["role"]["config"]["properties"]
    assert role["permissions"] == [{"actions": [FEATURE_READ], "notActions": []}]
    main = parsed("main.bicep")
    assert main["parameters"]["moveFeatureSubscriptions"]["default"] == []
    assignments = main["modules"]["featureAssignments"]
    assert assignments["detail"]["path"] == "modules/role-assignment-sub.bicep"
    assert assignments["config"]["loop_type"]["detail"]["array_name"] == "moveFeatureSubscriptions"
    assert "featureReaderRole" in str(assignments["config"]["config"]["params"]["roleDefinitionId"])
