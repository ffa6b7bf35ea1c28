"""The Function app: composes one blueprint per module of functions/. No logic here."""

import azure.functions as func

from functions import cases, health, jobs, manager, meta, outputs, reconciler, roles, webhooks

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

for module in (meta, health, cases, jobs, webhooks, outputs, manager, reconciler, roles):
    app.register_functions(module.bp)
