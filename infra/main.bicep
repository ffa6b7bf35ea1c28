targetScope = 'subscription'

// simgate on Azure: a Flex Consumption Function app with a user-assigned identity, a data storage
// account (tables, scripts, outputs), a host storage account, a Service Bus jobs queue, Key Vault for
// the simulators' SSH keys, and Application Insights. No keys or connection strings anywhere.

@minLength(1)
@maxLength(64)
@description('azd environment name; names and tags derive from it')
param environmentName string

@minLength(1)
@description('Region for every resource (one that offers Flex Consumption)')
param location string

@description('Client (application) id of the Entra ID app registration that signs users in')
param authClientId string

@description('Tenant of that app registration')
param authTenantId string = tenant().tenantId

@description('Origin of the web frontend allowed by CORS, e.g. https://simgate.example.org; empty for none')
param frontendOrigin string = ''

@description('Simulators as the SIMULATORS app setting expects them: a JSON list (see docs/operations.md)')
param simulatorsJson string = '[]'

@description('SSH private keys in Key Vault as a JSON list of {"setting", "secretName"}, one per private_key_setting')
param simulatorKeySecretsJson string = '[]'

@description('Deliveries of a start message before it is dead-lettered')
@minValue(1)
@maxValue(100)
param jobsQueueMaxDeliveryCount int = 5

@description('Most SSH connections simgate may hold open to one simulator at once, summed over every instance of the app: stay within what a site allows one user on its login node')
@minValue(1)
@maxValue(1000)
param simulatorConnectionBudget int = 20

@description('Most instances the Function app scales out to (the manager runs on each)')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 10

@description('App role whose members manage cases')
param adminRole string = 'simgate.admin'

@description('Object id of the deploying user, given data roles for local work against Azure; empty for none')
param principalId string = ''

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var jobsQueueName = 'jobs'
var casesTable = 'cases'
var jobsTable = 'jobs'
var scriptsContainer = 'case-scripts'
var outputsContainer = 'job-outputs'
var deploymentContainer = 'app-package'
// The per-simulator SSH budget holds across instances: every instance holds at most
// budget / instances connections (at least one), and there are never more instances than the budget.
var instances = min(maximumInstanceCount, simulatorConnectionBudget)
var connectionsPerInstance = max(1, simulatorConnectionBudget / instances)

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    workspaceName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    insightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
    metricsPublisherPrincipalId: identity.outputs.principalId
  }
}

module hostStorage 'modules/storage.bicep' = {
  name: 'host-storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}host${resourceToken}'
    location: location
    tags: tags
    containers: [deploymentContainer]
    tables: []
    corsOrigins: []
    // The Functions host keeps leases, timer state and the deployment package here.
    accountRoles: [
      { principalId: identity.outputs.principalId, principalType: 'ServicePrincipal', role: 'StorageBlobDataOwner' }
    ]
    containerRoles: []
  }
}

module dataStorage 'modules/storage.bicep' = {
  name: 'data-storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}data${resourceToken}'
    location: location
    tags: tags
    containers: [scriptsContainer, outputsContainer]
    tables: [casesTable, jobsTable]
    // Browsers download outputs straight from Blob storage with read-only SAS links.
    corsOrigins: empty(frontendOrigin) ? [] : [frontendOrigin]
    accountRoles: concat([
      // Cases and jobs live in tables.
      { principalId: identity.outputs.principalId, principalType: 'ServicePrincipal', role: 'StorageTableDataContributor' }
      // User delegation keys sign the read links for users and the upload grants for agents.
      { principalId: identity.outputs.principalId, principalType: 'ServicePrincipal', role: 'StorageBlobDelegator' }
    ], empty(principalId) ? [] : [
      { principalId: principalId, principalType: 'User', role: 'StorageTableDataContributor' }
      { principalId: principalId, principalType: 'User', role: 'StorageBlobDelegator' }
    ])
    // Blob data access only to the two containers the app uses, not the whole account.
    containerRoles: concat([
      { container: scriptsContainer, principalId: identity.outputs.principalId, principalType: 'ServicePrincipal', role: 'StorageBlobDataContributor' }
      { container: outputsContainer, principalId: identity.outputs.principalId, principalType: 'ServicePrincipal', role: 'StorageBlobDataContributor' }
    ], empty(principalId) ? [] : [
      { container: scriptsContainer, principalId: principalId, principalType: 'User', role: 'StorageBlobDataContributor' }
      { container: outputsContainer, principalId: principalId, principalType: 'User', role: 'StorageBlobDataContributor' }
    ])
  }
}

module serviceBus 'modules/servicebus.bicep' = {
  name: 'servicebus'
  scope: rg
  params: {
    name: '${abbrs.serviceBusNamespaces}${resourceToken}'
    location: location
    tags: tags
    queueName: jobsQueueName
    maxDeliveryCount: jobsQueueMaxDeliveryCount
    senderPrincipalIds: concat([identity.outputs.principalId], empty(principalId) ? [] : [principalId])
    receiverPrincipalIds: [identity.outputs.principalId]
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
    secretsUserPrincipalId: identity.outputs.principalId
    secretsOfficerPrincipalId: principalId
  }
}

module api 'modules/function.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: '${abbrs.webSitesFunctions}${resourceToken}'
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: union(tags, { 'azd-service-name': 'api' })
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    hostStorageName: hostStorage.outputs.name
    deploymentContainer: deploymentContainer
    insightsConnectionString: monitoring.outputs.connectionString
    corsOrigins: empty(frontendOrigin) ? [] : [frontendOrigin]
    authClientId: authClientId
    authTenantId: authTenantId
    keyVaultName: keyVault.outputs.name
    simulatorKeySecrets: json(simulatorKeySecretsJson)
    serviceBusNamespaceFqdn: serviceBus.outputs.fullyQualifiedNamespace
    maximumInstanceCount: instances
    appSettings: {
      SimgateStorage__tableServiceUri: dataStorage.outputs.tableEndpoint
      SimgateStorage__blobServiceUri: dataStorage.outputs.blobEndpoint
      SimgateStorage__credential: 'managedidentity'
      SimgateStorage__clientId: identity.outputs.clientId
      CASES_TABLE: casesTable
      JOBS_TABLE: jobsTable
      SCRIPTS_CONTAINER: scriptsContainer
      OUTPUTS_CONTAINER: outputsContainer
      JOBS_QUEUE: jobsQueueName
      JOBS_QUEUE_MAX_DELIVERY_COUNT: string(jobsQueueMaxDeliveryCount)
      ADMIN_ROLE: adminRole
      SIMULATORS: simulatorsJson
      // the app's default host name: agents on the simulators post their status webhooks here
      AGENT_CALLBACK_URL: 'https://${abbrs.webSitesFunctions}${resourceToken}.azurewebsites.net/api'
      // how long an agent retries a webhook or an upload before leaving the job to the reconciler
      AGENT_RETRY_SECONDS: '300'
      // the reconciler: every 5 minutes, about jobs unchanged for 10
      RECONCILE_SCHEDULE: '0 */5 * * * *'
      RECONCILE_STALE_AFTER_SECONDS: '600'
      // SSH: per instance and simulator, so that instances x connections stays within the budget;
      // each connection carries at most 8 commands (OpenSSH allows 10 sessions per connection)
      SIMULATOR_MAX_CONNECTIONS: string(connectionsPerInstance)
      SIMULATOR_MAX_CHANNELS: '8'
      // a start waits out an unreachable simulator for a day, trying at least every 5 minutes
      SIMULATOR_WAIT_HOURS: '24'
      SIMULATOR_RETRY_MAX_SECONDS: '300'
    }
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output SERVICE_API_NAME string = api.outputs.name
output SERVICE_API_URI string = api.outputs.uri
output AZURE_FUNCTION_APP_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_FUNCTION_APP_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output AZURE_DATA_STORAGE_ACCOUNT string = dataStorage.outputs.name
output AZURE_SERVICEBUS_NAMESPACE string = serviceBus.outputs.fullyQualifiedNamespace
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_URI string = keyVault.outputs.uri
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.insightsName
