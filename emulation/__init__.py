"""Local emulation of the Azure services nva-failover uses: Resource Manager, Azurite, NVAs."""
