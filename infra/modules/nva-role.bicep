// The custom role of the failover identity: exactly the Resource Manager actions the engine performs, no wildcard.
targetScope = 'subscription'

@description('Display name of the role.')
param roleName string

@description('Resource groups and subscriptions the role may be assigned at.')
param assignableScopes array

var actions = [
  'Microsoft.Network/networkInterfaces/read'
  'Microsoft.Network/networkInterfaces/write'
  'Microsoft.Network/publicIPAddresses/read'
  'Microsoft.Network/publicIPAddresses/join/action'
  'Microsoft.Network/virtualNetworks/subnets/join/action'
  'Microsoft.Network/networkSecurityGroups/join/action'
  'Microsoft.Network/routeTables/read'
  'Microsoft.Network/routeTables/write'
  'Microsoft.Network/locations/operations/read'
]

resource role 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, roleName)
  properties: {
    roleName: roleName
    description: 'nva-failover: read NICs, public IPs and route tables; move a public IP between NICs (the NIC write joins its subnet, NSG and public IP); rewrite route tables; track those writes.'
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
