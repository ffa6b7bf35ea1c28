// The Function app on the Flex Consumption plan, running as its user-assigned identity.
param name string
param planName string
param location string
param tags object
param identityId string
param identityClientId string
param hostStorageName string
param deploymentContainer string
param insightsConnectionString string
param corsOrigins array
param authClientId string
param authTenantId string
@description('Default host name of the static web app that links this app as its backend')
param staticWebAppHostname string
param keyVaultName string
@description('[{setting, secretName}]: app settings that hold SSH keys, as Key Vault references')
param simulatorKeySecrets array
param serviceBusNamespaceFqdn string
@description('The settings simgate\'s code reads (shared/config.py)')
param appSettings object
param maximumInstanceCount int = 40
param instanceMemoryMB int = 2048

resource hostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: hostStorageName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { name: 'FC1', tier: 'FlexConsumption' }
  properties: { reserved: true }
}

// Identity-based connections only: the platform's (host storage, Service Bus trigger, telemetry)...
var platformSettings = {
  AzureWebJobsStorage__accountName: hostStorage.name
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  ServiceBusConnection__fullyQualifiedNamespace: serviceBusNamespaceFqdn
  ServiceBusConnection__credential: 'managedidentity'
  ServiceBusConnection__clientId: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: insightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
}
var platformSettingList = [for item in items(platformSettings): { name: item.key, value: item.value }]
// ...simgate's own...
var appSettingList = [for item in items(appSettings): { name: item.key, value: item.value }]
// ...and the simulators' SSH keys, resolved from Key Vault by the platform with the app's identity.
var keySettingList = [for key in simulatorKeySecrets: {
  name: key.setting
  value: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=${key.secretName})'
}]

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    keyVaultReferenceIdentity: identityId
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${hostStorage.properties.primaryEndpoints.blob}${deploymentContainer}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: { name: 'python', version: '3.11' }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      cors: {
        allowedOrigins: corsOrigins
        supportCredentials: false
      }
      appSettings: concat(platformSettingList, appSettingList, keySettingList)
    }
  }
}

// Sign-in in front of every route, for two kinds of caller. Requests that carry a user's Entra ID
// token (the CLI) or come through the linked static web app (browsers) are authenticated by the
// platform, which forwards the identity in X-MS-CLIENT-PRINCIPAL* headers and strips such headers from
// anyone else. Anonymous requests reach the app, which refuses them on every user endpoint; that
// keeps the health probe public and the status webhook reachable by agents, which authenticate with
// their job's own secret. Being configured before the site links this app (modules/web-backend.bicep)
// is what keeps the link from making the site the only caller.
resource auth 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: app
  name: 'authsettingsV2'
  properties: {
    platform: { enabled: true, runtimeVersion: '~1' }
    globalValidation: {
      requireAuthentication: false
      unauthenticatedClientAction: 'AllowAnonymous'
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: authClientId
          openIdIssuer: 'https://sts.windows.net/${authTenantId}/v2.0'
        }
        validation: {
          allowedAudiences: ['api://${authClientId}', authClientId]
        }
      }
      // The provider the link registers ("Azure Static Web Apps (Linked)"), declared here too so that
      // a later provision, which replaces these settings, keeps trusting the site's proxied requests
      // (their user would be stripped otherwise). Its client id is the site's default host name.
      azureStaticWebApps: {
        enabled: true
        registration: { clientId: staticWebAppHostname }
      }
    }
    login: { tokenStore: { enabled: false } }
    httpSettings: {
      requireHttps: true
      forwardProxy: { convention: 'NoProxy' }
    }
  }
}

output name string = app.name
output id string = app.id
output location string = app.location
output uri string = 'https://${app.properties.defaultHostName}'
