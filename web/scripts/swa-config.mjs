#!/usr/bin/env node
// Writes dist/staticwebapp.config.json, the configuration the Static Web App is deployed with:
// public/staticwebapp.config.json, plus, for Azure, the Entra ID sign-in and the roles source.
//
//   node scripts/swa-config.mjs            (the last step of `npm run build`)
//
// For Azure, azd runs the build with its environment's values, among them
// SIMGATE_AUTH_OPENID_ISSUER (an output of infra/main.bicep: https://login.microsoftonline.com/<tenant>/v2.0).
// The issuer has to be written literally: the configuration file cannot read it from a setting.
// Without it (a local build) the file is copied as it is, with no `auth` section: the Static Web Apps
// CLI emulates sign-in at /.auth/login/aad only then (with one, it tries the real provider).
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const WEB = join(dirname(fileURLToPath(import.meta.url)), "..");
const SOURCE = join(WEB, "public", "staticwebapp.config.json");
const TARGET = join(WEB, "dist", "staticwebapp.config.json");
const ISSUER = /^https:\/\/[a-z0-9.-]+\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\/v2\.0$/;

// The single-tenant sign-in (the pre-configured provider would let any Microsoft account in). The
// settings it names are app settings of the site (infra/modules/web.bicep). The roles source is the
// API's function that copies the user's app roles into the site's roles (functions/roles.py).
function azureAuth(issuer) {
  return {
    rolesSource: "/api/auth/roles",
    identityProviders: {
      azureActiveDirectory: {
        registration: {
          openIdIssuer: issuer,
          clientIdSettingName: "SIMGATE_AUTH_CLIENT_ID",
          clientSecretSettingName: "SIMGATE_AUTH_CLIENT_SECRET",
        },
      },
    },
  };
}

function fail(message) {
  console.error(`swa-config: ${message}`);
  process.exit(1);
}

const text = readFileSync(SOURCE, "utf8");
const config = JSON.parse(text);
if (config.auth) fail(`${SOURCE} must have no "auth" section: the local sign-in emulator needs none`);

const issuer = (process.env.SIMGATE_AUTH_OPENID_ISSUER ?? "").trim();
if (issuer) {
  if (!ISSUER.test(issuer)) fail(`SIMGATE_AUTH_OPENID_ISSUER is not https://<login host>/<tenant id>/v2.0: ${issuer}`);
  config.auth = azureAuth(issuer);
} else if (process.env.AZURE_ENV_NAME) {
  // azd is building for Azure: never deploy a site whose sign-in lets any Microsoft account in.
  fail(`SIMGATE_AUTH_OPENID_ISSUER is not in the azd environment "${process.env.AZURE_ENV_NAME}": run azd provision first`);
}

writeFileSync(TARGET, config.auth ? JSON.stringify(config, null, 2) + "\n" : text);
console.log(`swa-config: ${TARGET} (${config.auth ? `Entra ID sign-in, issuer ${issuer}` : "local: emulated sign-in"})`);
