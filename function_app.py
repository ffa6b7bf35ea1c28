"""The Function app: composes one blueprint per module of functions/. No logic here."""

import azure.functions as func

from functions import cases, health, jobs

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

for module in (health, cases, jobs):
    app.register_functions(module.bp)
