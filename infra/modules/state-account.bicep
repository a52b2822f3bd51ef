// A storage account of its own for the state table, zone- (and geo-) redundant, identity-only, so that function apps
// in several regions can share one ETag-fenced table while each keeps its own host storage.
targetScope = 'resourceGroup'

param name string
param location string
@allowed(['Standard_ZRS', 'Standard_GZRS', 'Standard_RAGZRS'])
param sku string = 'Standard_GZRS'
param tableName string
@description('The app identity that reads and writes the state (Storage Table Data Contributor on the table).')
param principalId string

var tableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  kind: 'StorageV2'
  sku: {
    name: sku
  }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource table 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: tableName
}

resource tableAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: table
  name: guid(table.id, principalId, tableDataContributor)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', tableDataContributor)
  }
}

output accountId string = account.id
output tableEndpoint string = account.properties.primaryEndpoints.table
