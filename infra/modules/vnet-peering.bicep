// One direction of a (global) virtual network peering: from vnetName in this resource group to remoteVnetId.
// A second region's app joins the NVAs' network this way: its own VNet in its region, peered both ways with the hub.
targetScope = 'resourceGroup'

param vnetName string
param remoteVnetId string

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' existing = {
  name: vnetName
}

resource peering 'Microsoft.Network/virtualNetworks/virtualNetworkPeerings@2024-05-01' = {
  parent: vnet
  name: 'to-${last(split(remoteVnetId, '/'))}'
  properties: {
    remoteVirtualNetwork: {
      id: remoteVnetId
    }
    allowVirtualNetworkAccess: true
    allowForwardedTraffic: false
    allowGatewayTransit: false
    useRemoteGateways: false
  }
}
