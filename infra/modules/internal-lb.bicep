// Optional: an internal Standard load balancer with an HA-ports rule (all ports, all protocols) and a health probe in
// front of the NVAs' trust NICs: the hybrid, where east-west routes point at its frontend and never move, while
// nva-failover moves the public and floating IPs. Backends join by IP address, so the NVAs' NICs are not redeployed.
targetScope = 'resourceGroup'

@description('Name of the load balancer.')
param name string

@description('Region of the load balancer (the NVAs\' region).')
param location string

@description('Virtual network of the NVAs\' trust NICs (in this resource group).')
param vnetName string

@description('Subnet of the trust NICs, where the frontend lives.')
param subnetName string

@description('Static private IP of the frontend in that subnet: the next hop of the east-west routes.')
param frontendIp string

@description('Private IPs of the NVAs\' trust IP configurations: the backend pool.')
param backendAddresses array

@description('TCP port the health probe connects to on each NVA.')
@minValue(1)
@maxValue(65535)
param probePort int = 22

@description('Seconds between health probes (5 or more).')
@minValue(5)
param probeIntervalSeconds int = 5

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' existing = {
  name: vnetName
}

resource lb 'Microsoft.Network/loadBalancers@2024-05-01' = {
  name: name
  location: location
  sku: {
    name: 'Standard'
    tier: 'Regional'
  }
  properties: {
    frontendIPConfigurations: [
      {
        name: 'nva-frontend'
        properties: {
          privateIPAllocationMethod: 'Static'
          privateIPAddress: frontendIp
          subnet: {
            id: '${vnet.id}/subnets/${subnetName}'
          }
        }
      }
    ]
    backendAddressPools: [
      {
        name: 'nva-trust'
        properties: {
          loadBalancerBackendAddresses: [for (ip, i) in backendAddresses: {
            name: 'nva-${i}'
            properties: {
              ipAddress: ip
              virtualNetwork: {
                id: vnet.id
              }
            }
          }]
        }
      }
    ]
    probes: [
      {
        name: 'nva-health'
        properties: {
          protocol: 'Tcp'
          port: probePort
          intervalInSeconds: probeIntervalSeconds
          numberOfProbes: 2
          probeThreshold: 2
        }
      }
    ]
    loadBalancingRules: [
      {
        name: 'ha-ports'
        properties: {
          protocol: 'All'
          frontendPort: 0
          backendPort: 0
          enableFloatingIP: false
          idleTimeoutInMinutes: 4
          loadDistribution: 'Default'
          disableOutboundSnat: true
          frontendIPConfiguration: {
            id: resourceId('Microsoft.Network/loadBalancers/frontendIPConfigurations', name, 'nva-frontend')
          }
          backendAddressPool: {
            id: resourceId('Microsoft.Network/loadBalancers/backendAddressPools', name, 'nva-trust')
          }
          probe: {
            id: resourceId('Microsoft.Network/loadBalancers/probes', name, 'nva-health')
          }
        }
      }
    ]
  }
}

output frontendIp string = frontendIp
output backendPoolId string = lb.properties.backendAddressPools[0].id
