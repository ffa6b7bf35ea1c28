targetScope = 'subscription'

// simgate on Azure: a Flex Consumption Function app with a user-assigned identity, a data storage
// account (tables, scripts, outputs), a host storage account, a Service Bus jobs queue, Key Vault for
// the simulators' SSH keys, Application Insights, and the web frontend: a Static Web App with the
// Function app as its linked backend. No keys or connection strings anywhere but the one client
// secret the site signs users in with.

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

@secure()
@description('A client secret of that app registration: the web app signs users in with it')
param authClientSecret string

// Static Web Apps accepts only these regions. The site is served globally whatever the region;
// its region only matters to managed functions, which simgate does not use.
@description('Region of the Static Web App; empty: the Function app\'s region if it is one of these, else westeurope')
@allowed(['', 'westus2', 'centralus', 'eastus2', 'westeurope', 'eastasia'])
param webLocation string = ''

@description('Another origin of the web frontend (a custom domain of the static web app, e.g. https://simgate.example.org) allowed by CORS; empty for none')
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
var notifyQueueName = 'notifications'
var casesTable = 'cases'
var jobsTable = 'jobs'
var scriptsContainer = 'case-scripts'
var outputsContainer = 'job-outputs'
var deploymentContainer = 'app-package'
// The per-simulator SSH budget holds across instances: every instance holds at most
// budget / instances connections (at least one), and there are never more instances than the budget.
var instances = min(maximumInstanceCount, simulatorConnectionBudget)
var connectionsPerInstance = max(1, simulatorConnectionBudget / instances)
var staticWebAppRegions = ['westus2', 'centralus', 'eastus2', 'westeurope', 'eastasia']
var staticWebAppLocation = !empty(webLocation) ? webLocation : (contains(staticWebAppRegions, location) ? location : 'westeurope')

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

module web 'modules/web.bicep' = {
  name: 'web'
  scope: rg
  params: {
    name: '${abbrs.webStaticSites}${resourceToken}'
    location: staticWebAppLocation
    tags: union(tags, { 'azd-service-name': 'web' })
    authClientId: authClientId
    authClientSecret: authClientSecret
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
    // Upload grants write only under staging/ (shared/adapters/output_store.py), which the reconciler
    // empties each cycle once a job has ended; storage itself deletes anything left there after 2 days.
    expiringPrefixes: ['${outputsContainer}/staging/']
    tables: [casesTable, jobsTable]
    // Browsers download outputs straight from Blob storage with read-only SAS links, and the web
    // app fetches them for previews and plots: its own origin and any custom domain's.
    corsOrigins: concat([web.outputs.uri], empty(frontendOrigin) ? [] : [frontendOrigin])
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
    notifyQueueName: notifyQueueName
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
    // The web app calls the API through its own origin (the linked backend): no CORS needed for it.
    corsOrigins: empty(frontendOrigin) ? [] : [frontendOrigin]
    authClientId: authClientId
    authTenantId: authTenantId
    staticWebAppHostname: web.outputs.defaultHostname
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
      // sites whose nodes cannot call out: their followed jobs' live channels are pulled this often
      LIVE_PULL_SCHEDULE: '*/10 * * * * *'
      // a conditional answer (304) may come from an instance's memory of a job for this long
      FOLLOW_FRESH_SECONDS: '10'
      SWEEP_MAX_MEMBERS: '1000'
      // notifications: signed webhooks from their own queue, retried on Standard Webhooks' schedule
      // (about 75 hours), an endpoint failing for 5 days disabled; a catch-up every minute. Only https
      // to public addresses (the local-only loopback allowance is never set here).
      NOTIFY_QUEUE: notifyQueueName
      NOTIFY_MAX_SUBSCRIPTIONS: '20'
      NOTIFY_RETRY_SCHEDULE: '0,5,300,1800,7200,18000,36000,50400,72000,86400'
      NOTIFY_DISABLE_AFTER_HOURS: '120'
      NOTIFY_SCAN_SCHEDULE: '30 * * * * *'
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

// After the api module, and so after the app's authentication settings (see web-backend.bicep).
module webBackend 'modules/web-backend.bicep' = {
  name: 'web-backend'
  scope: rg
  params: {
    staticSiteName: web.outputs.name
    backendResourceId: api.outputs.id
    backendLocation: api.outputs.location
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output SERVICE_API_NAME string = api.outputs.name
output SERVICE_API_URI string = api.outputs.uri
output SERVICE_WEB_NAME string = web.outputs.name
output SERVICE_WEB_URI string = web.outputs.uri
// For the web build (web/scripts/swa-config.mjs): the issuer the site's Entra ID sign-in trusts,
// which staticwebapp.config.json must hold literally.
output SIMGATE_AUTH_OPENID_ISSUER string = '${environment().authentication.loginEndpoint}${authTenantId}/v2.0'
// For azd's deploy of the web service (the Static Web Apps CLI reads it): deploy the configuration the
// build wrote into web/dist, not the template in web/public, which has no sign-in settings.
output SWA_RUNTIME_CONFIG_LOCATION string = 'web/dist'
output AZURE_FUNCTION_APP_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_FUNCTION_APP_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output AZURE_DATA_STORAGE_ACCOUNT string = dataStorage.outputs.name
output AZURE_SERVICEBUS_NAMESPACE string = serviceBus.outputs.fullyQualifiedNamespace
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_URI string = keyVault.outputs.uri
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.insightsName
