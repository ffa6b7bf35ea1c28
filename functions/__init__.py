"""Function entrypoints: one blueprint per module. Parse, call one service, map errors. Thin.

``BLUEPRINTS`` is the one list of them: the Function app registers these, and the OpenAPI document
is made from the routes they declare."""

from functions import (
    cases,
    health,
    jobs,
    live,
    manager,
    meta,
    notifications,
    notifier,
    outputs,
    reconciler,
    roles,
    sites,
    studies,
    webhooks,
)
from shared.api.openapi import Route
from shared.http import ApiBlueprint

BLUEPRINTS = (meta.bp, health.bp, cases.bp, jobs.bp, studies.bp, live.bp, sites.bp, webhooks.bp, outputs.bp,
              notifications.bp, manager.bp, notifier.bp, reconciler.bp, roles.bp)


def http_routes() -> list[Route]:
    """Every HTTP route the blueprints declare, with its operation."""
    return [route for blueprint in BLUEPRINTS if isinstance(blueprint, ApiBlueprint) for route in blueprint.routes]
