"""The Function app: registers the blueprints of functions/. No logic here."""

import azure.functions as func

from functions import BLUEPRINTS


def build() -> func.FunctionApp:
    """A Function app of every blueprint (the local host serves a fresh one each time it starts)."""
    function_app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    for blueprint in BLUEPRINTS:
        function_app.register_functions(blueprint)
    return function_app


app = build()
