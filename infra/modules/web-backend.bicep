// The Function app as the static web app's linked backend: the site proxies /api/* to it and passes
// the signed-in user on. Deployed after the Function app and its authentication settings (main.bicep
// passes the app's id from the api module's outputs), so the link finds authentication already
// configured and does not make the site the app's only caller: agents and the CLI keep calling the
// app's own host name.
param staticSiteName string
param backendResourceId string
@description('Region of the Function app')
param backendLocation string

resource site 'Microsoft.Web/staticSites@2024-04-01' existing = {
  name: staticSiteName
}

// One backend per site, under a fixed name: renaming it fails while the old link exists.
resource backend 'Microsoft.Web/staticSites/linkedBackends@2024-04-01' = {
  parent: site
  name: 'api'
  properties: {
    backendResourceId: backendResourceId
    region: backendLocation
  }
}

output backendResourceId string = backend.properties.backendResourceId
