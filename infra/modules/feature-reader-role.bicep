// A custom role that only reads subscription features (Microsoft.Features): the failover identity reads whether
// Microsoft.Network/AllowMoveIpConfigurations is Registered, to move floating IPs in one operation. Assigned on subscriptions.
targetScope = 'subscription'

@description('Display name of the role.')
param roleName string

@description('Scopes the role may be assigned at.')
param assignableScopes array

resource role 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, roleName)
  properties: {
    roleName: roleName
    description: 'nva-failover: read subscription features (whether atomic IP configuration moves are allowed).'
    type: 'CustomRole'
    permissions: [
      {
        actions: [
          'Microsoft.Features/providers/features/read'
        ]
        notActions: []
      }
    ]
    assignableScopes: assignableScopes
  }
}

output roleDefinitionId string = role.id
