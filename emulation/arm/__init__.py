"""A local HTTPS emulator of the Azure Resource Manager Microsoft.Network subset nva-failover calls."""
