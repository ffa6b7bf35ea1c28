// The web frontend: an Azure Static Web App (Standard, which linked backends and custom sign-in
// need). azd deploys web/dist to it; modules/web-backend.bicep links the Function app as its /api.
param name string
@description('Where the site\'s own Functions and staging environments would run; the site itself is global')
param location string
param tags object
@description('Client id of the Entra ID app registration users sign in with (the same one the API accepts)')
param authClientId string
@secure()
@description('A client secret of that app registration, for the site\'s sign-in (authorization code flow)')
param authClientSecret string

resource site 'Microsoft.Web/staticSites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  sku: { name: 'Standard', tier: 'Standard' }
  properties: {
    // Deployed by azd through the Static Web Apps CLI with a deployment token, not from a repository.
    provider: 'Custom'
    // A linked backend serves only the production environment: no pull-request environments.
    stagingEnvironmentPolicy: 'Disabled'
    allowConfigFileUpdates: true
  }
}

// The settings staticwebapp.config.json names in its Entra ID registration (clientIdSettingName,
// clientSecretSettingName). This replaces every app setting of the site on each provision.
resource appSettings 'Microsoft.Web/staticSites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: {
    SIMGATE_AUTH_CLIENT_ID: authClientId
    SIMGATE_AUTH_CLIENT_SECRET: authClientSecret
  }
}

output name string = site.name
output id string = site.id
output defaultHostname string = site.properties.defaultHostname
output uri string = 'https://${site.properties.defaultHostname}'
