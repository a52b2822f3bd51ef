"""The nva-failover engine: configuration, probes, policy, state, Azure network actions and events."""
