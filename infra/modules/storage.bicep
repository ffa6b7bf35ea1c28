// A storage account reachable only with Entra ID: no shared keys, no public blobs, TLS 1.2, https.
param name string
param location string
param tags object
param containers array
param tables array
@description('Origins allowed to GET blobs from a browser (SAS downloads)')
param corsOrigins array
@description('Account-scope roles: [{principalId, principalType, role}]')
param accountRoles array
@description('Container-scope roles: [{container, principalId, principalType, role}]')
param containerRoles array
@description('Blob name prefixes ("<container>/<prefix>/") whose blobs storage deletes on its own once unchanged for expiryDays: a backstop for what the app sweeps itself')
param expiringPrefixes array = []
param expiryDays int = 2

var roleIds = {
  StorageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  StorageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  StorageBlobDelegator: 'db58b8e5-c6ad-4a2a-8342-4190687cbf4a'
  StorageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
}

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  // Zone- and geo-redundant: outputs and the case catalogue survive a zone or region loss.
  sku: { name: 'Standard_GZRS' }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: { enabled: true, days: 7 }
    containerDeleteRetentionPolicy: { enabled: true, days: 7 }
    cors: {
      corsRules: empty(corsOrigins) ? [] : [
        {
          allowedOrigins: corsOrigins
          allowedMethods: ['GET', 'HEAD']
          allowedHeaders: ['*']
          exposedHeaders: ['Content-Length', 'Content-Type', 'Content-Disposition', 'Content-MD5', 'ETag']
          maxAgeInSeconds: 3600
        }
      ]
    }
  }
}

// Lifecycle management deletes what a sweep of the app's (the reconciler's, each cycle) should have
// removed, if the sweep ever stops: it runs about once a day, so it is a backstop, not the mechanism.
resource expiry 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = if (!empty(expiringPrefixes)) {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'expire-swept-prefixes'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: { blobTypes: ['blockBlob'], prefixMatch: expiringPrefixes }
            actions: {
              baseBlob: { delete: { daysAfterModificationGreaterThan: expiryDays } }
              snapshot: { delete: { daysAfterCreationGreaterThan: expiryDays } }
            }
          }
        }
      ]
    }
  }
}

resource blobContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [for container in containers: {
  parent: blobService
  name: container
  properties: { publicAccess: 'None' }
}]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource storageTables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [for table in tables: {
  parent: tableService
  name: table
}]

resource accountRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for grant in accountRoles: {
  name: guid(account.id, grant.principalId, roleIds[grant.role])
  scope: account
  properties: {
    principalId: grant.principalId
    principalType: grant.principalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds[grant.role])
  }
}]

resource grantedContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = [for grant in containerRoles: {
  parent: blobService
  name: grant.container
}]

resource containerRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (grant, i) in containerRoles: {
  name: guid(account.id, grant.container, grant.principalId, roleIds[grant.role])
  scope: grantedContainers[i]
  properties: {
    principalId: grant.principalId
    principalType: grant.principalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds[grant.role])
  }
  dependsOn: [blobContainers]
}]

output name string = account.name
output id string = account.id
output blobEndpoint string = account.properties.primaryEndpoints.blob
output tableEndpoint string = account.properties.primaryEndpoints.table
output queueEndpoint string = account.properties.primaryEndpoints.queue
