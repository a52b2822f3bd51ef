// The custom role of the failover identity: exactly the Resource Manager actions the engine performs, no wildcard.
// Permissions/read lets readiness read the identity's own permissions (the REST API requires it; Reader's */read would
// cover it). NICs in inbound NAT rules or application gateway pools also need those join actions: add them here.
targetScope = 'subscription'

@description('Display name of the role.')
param roleName string

@description('Resource groups and subscriptions the role may be assigned at.')
param assignableScopes array

@description('Add the joins a NIC write needs when its IP configurations sit in load balancer backend pools or application security groups.')
param joinLoadBalancersAndAsgs bool = true

@description('Add the join a NIC write needs when its IP configurations are chained to a gateway load balancer (its frontend).')
param joinGatewayLoadBalancer bool = false

@description('Add the action that moves floating IP configurations between two NICs of a virtual network in one operation (used where the subscription feature Microsoft.Network/AllowMoveIpConfigurations is Registered; without it, two NIC writes).')
param moveIpConfigurations bool = true

var baseActions = [
  'Microsoft.Network/networkInterfaces/read'
  'Microsoft.Network/networkInterfaces/write'
  'Microsoft.Network/publicIPAddresses/read'
  'Microsoft.Network/publicIPAddresses/join/action'
  'Microsoft.Network/virtualNetworks/subnets/join/action'
  'Microsoft.Network/networkSecurityGroups/join/action'
  'Microsoft.Network/routeTables/read'
  'Microsoft.Network/routeTables/write'
  'Microsoft.Network/locations/operations/read'
  'Microsoft.Authorization/permissions/read'
]

var loadBalancerAndAsgJoins = [
  'Microsoft.Network/applicationSecurityGroups/joinIpConfiguration/action'
  'Microsoft.Network/loadBalancers/backendAddressPools/join/action'
]

var gatewayLoadBalancerJoins = [
  'Microsoft.Network/loadBalancers/frontendIPConfigurations/join/action'
]

var ipConfigurationMoves = [
  'Microsoft.Network/virtualNetworks/moveIpConfigurations/action'
]

var actions = concat(baseActions, joinLoadBalancersAndAsgs ? loadBalancerAndAsgJoins : [], joinGatewayLoadBalancer ? gatewayLoadBalancerJoins : [], moveIpConfigurations ? ipConfigurationMoves : [])

resource role 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, roleName)
  properties: {
    roleName: roleName
    description: 'nva-failover: read NICs, public IPs and route tables; move a public IP between NICs (the NIC write joins its subnet, NSG, public IP and, when enabled, its load balancer pools and application security groups); rewrite route tables; track those writes; read its own permissions.'
    type: 'CustomRole'
    permissions: [
      {
        actions: actions
        notActions: []
      }
    ]
    assignableScopes: assignableScopes
  }
}

output roleDefinitionId string = role.id
