// The operators' Azure Monitor workbook: failovers over time with their durations, NVA health transitions, readiness,
// blocked and failed failovers and the probe heartbeat, per cluster, from the app's customEvents (workbook.json).
@description('Resource id of the Application Insights component whose customEvents the workbook reads.')
param insightsId string

@description('Region of the workbook resource.')
param location string

@description('Name shown in the portal\'s workbook gallery.')
param displayName string

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, insightsId, 'nva-failover-workbook')
  location: location
  kind: 'shared'
  properties: {
    displayName: displayName
    category: 'workbook'
    sourceId: insightsId
    serializedData: loadTextContent('workbook.json')
    version: 'Notebook/1.0'
  }
}

output workbookId string = workbook.id
