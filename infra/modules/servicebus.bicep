// The jobs queue and the notifications queue. Local (SAS key) auth is off: only Entra ID identities
// with data roles reach them.
param name string
param location string
param tags object
param queueName string
param notifyQueueName string
param maxDeliveryCount int
param senderPrincipalIds array
param receiverPrincipalIds array

var dataSender = '69a216fc-b8fb-44d8-bc22-1f3c2552ae39'
var dataReceiver = '4f6d3b08-6bd3-4f48-b1b4-ed19cbcf6d02'

resource namespace 'Microsoft.ServiceBus/namespaces@2022-10-01-preview' = {
  name: name
  location: location
  tags: tags
  sku: { name: 'Standard', tier: 'Standard' }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
  }
}

resource queue 'Microsoft.ServiceBus/namespaces/queues@2022-10-01-preview' = {
  parent: namespace
  name: queueName
  properties: {
    // The API derives each start message's id from its job id: a retried send is dropped here.
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'PT1H'
    // Long enough for an SSH upload and submit; the Functions host renews it while the manager runs.
    lockDuration: 'PT5M'
    maxDeliveryCount: maxDeliveryCount
    deadLetteringOnMessageExpiration: true
    defaultMessageTimeToLive: 'P7D'
    requiresSession: false
    enablePartitioning: false
  }
}

// Notifications: wakes of the notifier and scheduled deliveries. Every message is distinct (a nonce in
// its id), so no duplicate detection; a delivery message posts at most 20 events of 15 s at most.
resource notifyQueue 'Microsoft.ServiceBus/namespaces/queues@2022-10-01-preview' = {
  parent: namespace
  name: notifyQueueName
  properties: {
    requiresDuplicateDetection: false
    lockDuration: 'PT5M'
    maxDeliveryCount: 10
    deadLetteringOnMessageExpiration: true
    // a retry is scheduled up to 24 h ahead; a week covers the whole schedule
    defaultMessageTimeToLive: 'P7D'
    requiresSession: false
    enablePartitioning: false
  }
}

// The app sends the notifier's messages and receives them.
resource notifySenders 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for principalId in receiverPrincipalIds: {
  name: guid(notifyQueue.id, principalId, dataSender)
  scope: notifyQueue
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', dataSender)
  }
}]

resource notifyReceivers 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for principalId in receiverPrincipalIds: {
  name: guid(notifyQueue.id, principalId, dataReceiver)
  scope: notifyQueue
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', dataReceiver)
  }
}]

// The API sends start and cancel messages.
resource senders 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for principalId in senderPrincipalIds: {
  name: guid(queue.id, principalId, dataSender)
  scope: queue
  properties: {
    principalId: principalId
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', dataSender)
  }
}]

// The manager function receives them (and its dead-letter subqueue).
resource receivers 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for principalId in receiverPrincipalIds: {
  name: guid(queue.id, principalId, dataReceiver)
  scope: queue
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', dataReceiver)
  }
}]

output name string = namespace.name
output fullyQualifiedNamespace string = '${namespace.name}.servicebus.windows.net'
output queueName string = queue.name
output notifyQueueName string = notifyQueue.name
