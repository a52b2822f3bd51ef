"""The optional internal load balancer: off by default, HA ports (all protocols, all ports) behind a health probe."""

from __future__ import annotations

from tests.infra.bicep import parsed, resource


def test_off_unless_asked_for() -> None:
    main = parsed("main.bicep")
    assert main["parameters"]["deployInternalLoadBalancer"]["default"] is False
    assert main["modules"]["internalLb"]["config"]["condition"] == "deployInternalLoadBalancer"


def test_ha_ports_rule_with_a_probe_on_a_standard_internal_load_balancer() -> None:
    lb = resource("lb", "modules/internal-lb.bicep")
    assert lb["sku"]["name"] == "Standard"
    props = lb["properties"]
    frontend = props["frontendIPConfigurations"][0]["properties"]
    assert "publicIPAddress" not in frontend and frontend["privateIPAllocationMethod"] == "Static"
    rule = props["loadBalancingRules"][0]["properties"]
    assert (rule["protocol"], rule["frontendPort"], rule["backendPort"]) == ("All", 0, 0)
    assert rule["enableFloatingIP"] is False and rule["disableOutboundSnat"] is True
    assert "probe" in rule and props["probes"][0]["properties"]["protocol"] == "Tcp"
