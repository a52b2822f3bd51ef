// nva-failover on Azure: a Flex Consumption (FC1) Python function app, VNet-integrated so it can probe the NVAs,
// running as a user-assigned identity that holds exactly the network actions the engine performs; identity-only
// storage for the host and for the state table (in the host's account, or in a zone- and geo-redundant account of its
// own that apps in other regions join); Application Insights on Log Analytics; alerts on the contract's events.
targetScope = 'resourceGroup'

@description('Prefix of every resource name (3-11 lower-case letters and digits).')
@minLength(3)
@maxLength(11)
param namePrefix string

@description('Region of the function app and its resources; the NVAs\' region is usual.')
param location string = resourceGroup().location

@description('The configuration document (contract section 2), deployed as the NVA_HA_CONFIG app setting.')
param nvaHaConfig object

@description('Seconds between probe runs (1-59); the timer is */N seconds. Detection takes N x unhealthyThreshold + probe timeout.')
@minValue(1)
@maxValue(59)
param probeIntervalSeconds int = 5

@description('Name of the state table.')
param stateTableName string = 'nvahastate'

@description('Where the state table lives: "host" (this app\'s own storage account), "dedicated" (a new storage account of its own, zone- or geo-zone-redundant: the first region of a multi-region deployment) or "existing" (the state account of another deployment, stateAccountId: a further region).')
@allowed(['host', 'dedicated', 'existing'])
param stateStorage string = 'host'

@description('Redundancy of a dedicated state account.')
@allowed(['Standard_ZRS', 'Standard_GZRS', 'Standard_RAGZRS'])
param stateAccountSku string = 'Standard_GZRS'

@description('With stateStorage "existing": resource id of the state account (output stateAccountId of the first region\'s deployment).')
param stateAccountId string = ''

@description('Python version of the app: the versions Flex Consumption offers that the tests cover (the suite runs on 3.11).')
@allowed(['3.11'])
param pythonVersion string = '3.11'

@description('Always-ready instances of the timer\'s function group (function:probe): probes never wait for a cold start. The HTTP API scales in its own group (http) and never runs on these.')
@minValue(1)
@maxValue(3)
param probeAlwaysReady int = 1

@description('Virtual network the function app joins to reach the NVAs (it gets a new subnet delegated to Microsoft.App/environments).')
param vnetName string

@description('Resource group of that virtual network.')
param vnetResourceGroup string = resourceGroup().name

@description('A further region: the NVAs\' virtual network (resource id) to peer vnetName with, both ways (global peering), so this region\'s app can probe the NVAs. Empty when vnetName is the NVAs\' network or already reaches it.')
param peerWithVnetId string = ''

@description('Address prefix of the new integration subnet (a /27 or larger, unused).')
param integrationSubnetPrefix string

@description('Resource groups that hold the NVAs\' NICs, public IPs, subnets, NSGs and listed route tables: [{subscriptionId, resourceGroup}]. The failover role is assigned on each.')
param networkResourceGroups array

@description('Subscriptions whose route tables are discovered (contract discoverRouteTables); the failover role is assigned on each.')
param discoverySubscriptions array = []

@description('Whether the NVAs\' NICs sit in load balancer backend pools or application security groups (appliances behind an HA-ports load balancer): the failover role then also holds those join actions, which every NIC write needs. Leave true unless you know they do not.')
param nicsJoinLoadBalancersOrAsgs bool = true

@description('Subscriptions of the NVAs\' virtual networks where the feature Microsoft.Network/AllowMoveIpConfigurations is registered: the identity may read that feature there, and floating IPs then move in one operation (README "Floating IPs").')
param moveFeatureSubscriptions array = []

@description('E-mail addresses the action group notifies.')
param alertEmails array = []

@description('Webhook URLs the action group calls (common alert schema).')
@secure()
param alertWebhooks object = { urls: [] }

@description('Resource Manager endpoint (sovereign clouds).')
param armEndpoint string = environment().resourceManager

@description('Also deploy an internal Standard load balancer with an HA-ports rule in front of the NVAs\' trust NICs (the hybrid: east-west routes point at its frontend, nva-failover moves the public and floating IPs).')
param deployInternalLoadBalancer bool = false

@description('With deployInternalLoadBalancer: {subnetName, frontendIp, backendAddresses: [trust IPs], probePort} in vnetName.')
param internalLoadBalancer object = {}

var suffix = uniqueString(resourceGroup().id, namePrefix)
var appName = '${namePrefix}-nvaha-${suffix}'
var storageName = take(toLower('${namePrefix}st${suffix}'), 24)
var deploymentContainer = 'app-package'
var changesQueueName = 'nva-ha-changes'
var stateAccountName = stateStorage == 'existing' ? last(split(stateAccountId, '/')) : (stateStorage == 'dedicated' ? take(toLower('${namePrefix}state${suffix}'), 24) : storageName)
var stateAccountScope = stateStorage == 'existing' ? split(stateAccountId, '/') : split(resourceGroup().id, '/')
var stateTableEndpoint = 'https://${stateAccountName}.table.${environment().suffixes.storage}'
var peerScope = empty(peerWithVnetId) ? split(resourceGroup().id, '/') : split(peerWithVnetId, '/')
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}
// One alert rule per entry (`rule` names it); `where` narrows the event. A completed failover that skipped writes (route
// tables it could not read or write, contract "Partial beats none") alerts like a failed one: someone must act.
var alertEvents = [
  { rule: 'FailoverCompleted', name: 'FailoverCompleted', severity: 2, where: '', text: 'traffic moved to another NVA' }
  { rule: 'FailoverCompletedWithSkipped', name: 'FailoverCompleted', severity: 1, where: ' | where array_length(todynamic(tostring(customDimensions.skipped))) > 0', text: 'a failover completed without some writes: skipped names each route table (or subscription listing) it could not read or write, and why; the next reconcile writes them once it can' }
  { rule: 'FailoverFailed', name: 'FailoverFailed', severity: 1, where: '', text: 'a failover step failed; the next run resumes it' }
  { rule: 'NoHealthyNva', name: 'NoHealthyNva', severity: 0, where: '', text: 'the active NVA is down and no standby is healthy' }
  { rule: 'DriftDetected', name: 'DriftDetected', severity: 3, where: '', text: 'a public IP or owned route differed from the recorded state' }
  { rule: 'ReadinessChanged', name: 'ReadinessChanged', severity: 2, where: ' | where tostring(customDimensions.ready) =~ "false"', text: 'readiness turned to not ready: a failover now would fail or could not start (failing names the checks, detail says what to do)' }
  { rule: 'FailoverBlocked', name: 'FailoverBlocked', severity: 1, where: '', text: 'a failover was not started because a write it needs is not permitted to the identity (missing names the actions and scopes)' }
  { rule: 'FailoverAbandoned', name: 'FailoverAbandoned', severity: 1, where: '', text: 'a change in flight was given up (reason says why: its target no longer healthy or configured, paused, superseded, or it kept failing); the cluster was decided afresh' }
  { rule: 'SplitBrain', name: 'SplitBrain', severity: 1, where: '', text: 'appliance-led: more than one appliance claims active (claims names them); nothing moves until one alone claims' }
]
var heartbeatWindow = 'PT5M'
var networkScopes = [for g in networkResourceGroups: '/subscriptions/${g.subscriptionId}/resourceGroups/${g.resourceGroup}']
var discoveryScopes = [for s in discoverySubscriptions: '/subscriptions/${s}']
var featureScopes = [for s in moveFeatureSubscriptions: '/subscriptions/${s}']

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${appName}-id'
  location: location
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageName
  location: location
  kind: 'StorageV2'
  sku: {
    name: 'Standard_GZRS'
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

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource container 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainer
  properties: {
    publicAccess: 'None'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource stateTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = if (stateStorage == 'host') {
  parent: tableService
  name: stateTableName
}

// The executor's queue: the timer and the API queue the changes they lock; the queue-triggered function carries them out.
resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource changesQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: changesQueueName
}

// Send (timer, API), read and delete (the queue trigger), and the trigger's poison queue: keyless, on this account only.
resource queueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: storage
  name: guid(storage.id, identity.id, roles.storageQueueDataContributor)
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
  }
}

resource blobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: storage
  name: guid(storage.id, identity.id, roles.storageBlobDataOwner)
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
  }
}

resource tableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (stateStorage == 'host') {
  scope: storage
  name: guid(storage.id, identity.id, roles.storageTableDataContributor)
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
  }
}

module stateAccount 'modules/state-account.bicep' = if (stateStorage == 'dedicated') {
  name: '${appName}-state'
  params: {
    name: stateAccountName
    location: location
    sku: stateAccountSku
    tableName: stateTableName
    principalId: identity.properties.principalId
  }
}

module stateAccess 'modules/state-access.bicep' = if (stateStorage == 'existing') {
  name: '${appName}-state-access'
  scope: resourceGroup(stateAccountScope[2], stateAccountScope[4])
  params: {
    accountName: stateAccountName
    tableName: stateTableName
    principalId: identity.properties.principalId
  }
}

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${appName}-logs'
  location: location
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
    features: {
      disableLocalAuth: true
    }
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${appName}-ai'
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
    IngestionMode: 'LogAnalytics'
  }
}

module workbook 'modules/workbook.bicep' = {
  name: '${appName}-workbook'
  params: {
    insightsId: insights.id
    location: location
    displayName: 'nva-failover (${namePrefix})'
  }
}

resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: insights
  name: guid(insights.id, identity.id, roles.monitoringMetricsPublisher)
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
  }
}

module internalLb 'modules/internal-lb.bicep' = if (deployInternalLoadBalancer) {
  name: '${appName}-ilb'
  scope: resourceGroup(vnetResourceGroup)
  params: {
    name: '${namePrefix}-nva-ilb'
    location: location
    vnetName: vnetName
    subnetName: internalLoadBalancer.?subnetName ?? 'trust'
    frontendIp: internalLoadBalancer.?frontendIp ?? ''
    backendAddresses: internalLoadBalancer.?backendAddresses ?? []
    probePort: internalLoadBalancer.?probePort ?? 22
  }
}

module subnet 'modules/integration-subnet.bicep' = {
  name: '${appName}-subnet'
  scope: resourceGroup(vnetResourceGroup)
  params: {
    vnetName: vnetName
    subnetName: '${appName}-integration'
    addressPrefix: integrationSubnetPrefix
  }
}

module peerToNvas 'modules/vnet-peering.bicep' = if (!empty(peerWithVnetId)) {
  name: '${appName}-peer-out'
  scope: resourceGroup(vnetResourceGroup)
  params: {
    vnetName: vnetName
    remoteVnetId: peerWithVnetId
  }
}

module peerFromNvas 'modules/vnet-peering.bicep' = if (!empty(peerWithVnetId)) {
  name: '${appName}-peer-in'
  scope: resourceGroup(peerScope[2], peerScope[4])
  params: {
    vnetName: last(peerScope)
    remoteVnetId: resourceId(vnetResourceGroup, 'Microsoft.Network/virtualNetworks', vnetName)
  }
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: '${appName}-plan'
  location: location
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: appName
  location: location
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertMode: 'Optional'
    virtualNetworkSubnetId: subnet.outputs.subnetId
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainer}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: 40
        instanceMemoryMB: 2048
        alwaysReady: [
          {
            name: 'function:probe'
            instanceCount: probeAlwaysReady
          }
          // The queue-triggered executor scales on its own in Flex Consumption: one warm instance, no cold start on a failover.
          { name: 'function:execute', instanceCount: 1 }
        ]
      }
      runtime: {
        name: 'python'
        version: pythonVersion
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: [
        { name: 'AzureWebJobsStorage__accountName', value: storage.name }
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'AzureWebJobsStorage__clientId', value: identity.properties.clientId }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insights.properties.ConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identity.properties.clientId};Authorization=AAD' }
        { name: 'PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY', value: 'true' }
        { name: 'PYTHON_APPLICATIONINSIGHTS_LOGGER_NAME', value: 'nva_failover' }
        { name: 'NVA_HA_CONFIG', value: string(nvaHaConfig) }
        { name: 'NVA_HA_PROBE_SCHEDULE', value: '*/${probeIntervalSeconds} * * * * *' }
        { name: 'NVA_HA_STATE_TABLE', value: stateTableName }
        { name: 'NVA_HA_STATE_CONNECTION', value: 'NvaState' }
        { name: 'NvaState__tableServiceUri', value: stateTableEndpoint }
        { name: 'NvaState__credential', value: 'managedidentity' }
        { name: 'NvaState__clientId', value: identity.properties.clientId }
        { name: 'NVA_HA_ARM_ENDPOINT', value: armEndpoint }
        { name: 'NVA_HA_QUEUE', value: changesQueueName }
        { name: 'NVA_HA_MANUAL_WAIT_SECONDS', value: '200' }
        { name: 'AZURE_CLIENT_ID', value: identity.properties.clientId }
      ]
    }
  }
  dependsOn: [
    blobOwner
    tableContributor
    queueContributor
    changesQueue
    metricsPublisher
    stateTable
    stateAccount
    stateAccess
    peerToNvas
    peerFromNvas
    container
  ]
}

module failoverRole 'modules/nva-role.bicep' = {
  name: '${appName}-role'
  scope: subscription()
  params: {
    roleName: 'NVA failover (${appName})'
    assignableScopes: concat(networkScopes, discoveryScopes)
    joinLoadBalancersAndAsgs: nicsJoinLoadBalancersOrAsgs
  }
}

module featureReaderRole 'modules/feature-reader-role.bicep' = {
  name: '${appName}-feature-role'
  scope: subscription()
  params: {
    roleName: 'NVA failover feature reader (${appName})'
    assignableScopes: concat(networkScopes, featureScopes)
  }
}

module featureAssignments 'modules/role-assignment-sub.bicep' = [for (s, i) in moveFeatureSubscriptions: {
  name: '${appName}-rbac-feature-${i}'
  scope: subscription(s)
  params: {
    principalId: identity.properties.principalId
    roleDefinitionId: featureReaderRole.outputs.roleDefinitionId
  }
}]

module networkAssignments 'modules/role-assignment-rg.bicep' = [for (g, i) in networkResourceGroups: {
  name: '${appName}-rbac-rg-${i}'
  scope: resourceGroup(g.subscriptionId, g.resourceGroup)
  params: {
    principalId: identity.properties.principalId
    roleDefinitionId: failoverRole.outputs.roleDefinitionId
  }
}]

module discoveryAssignments 'modules/role-assignment-sub.bicep' = [for (s, i) in discoverySubscriptions: {
  name: '${appName}-rbac-sub-${i}'
  scope: subscription(s)
  params: {
    principalId: identity.properties.principalId
    roleDefinitionId: failoverRole.outputs.roleDefinitionId
  }
}]

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: '${appName}-ag'
  location: 'Global'
  properties: {
    groupShortName: take('nvaha${namePrefix}', 12)
    enabled: true
    emailReceivers: [for (address, i) in alertEmails: {
      name: 'email-${i}'
      emailAddress: address
      useCommonAlertSchema: true
    }]
    webhookReceivers: [for (url, i) in alertWebhooks.urls: {
      name: 'webhook-${i}'
      serviceUri: url
      useCommonAlertSchema: true
    }]
  }
}

resource eventAlerts 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [for event in alertEvents: {
  name: '${appName}-${event.rule}'
  location: location
  properties: {
    displayName: 'nva-failover: ${event.rule}'
    description: event.text
    severity: event.severity
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT1M'
    windowSize: 'PT1M'
    criteria: {
      allOf: [
        {
          query: 'customEvents | where name == "${event.name}"${event.where} | extend cluster = tostring(customDimensions.cluster)'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          dimensions: [
            {
              name: 'cluster'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: false
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}]

resource heartbeat 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${appName}-heartbeat'
  location: location
  properties: {
    displayName: 'nva-failover: probe heartbeat stopped'
    description: 'No ProbeCycle event arrived in the window: the timer is not running, so nothing can fail over.'
    severity: 1
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: heartbeatWindow
    windowSize: heartbeatWindow
    criteria: {
      allOf: [
        {
          query: 'customEvents | where name == "ProbeCycle"'
          timeAggregation: 'Count'
          operator: 'LessThan'
          threshold: 1
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

output functionAppName string = app.name
output principalId string = identity.properties.principalId
output clientId string = identity.properties.clientId
output roleDefinitionId string = failoverRole.outputs.roleDefinitionId
output workbookId string = workbook.outputs.workbookId
@description('The state account (for stateAccountId of a further region\'s deployment).')
output stateAccountId string = resourceId(stateAccountScope[2], stateAccountScope[4], 'Microsoft.Storage/storageAccounts', stateAccountName)
