"""The notifications endpoints: a user's webhook subscriptions, their test pings and delivery logs."""

import azure.functions as func

from shared.api.models import DeliveryAttempt, PingQueued, RedeliveryQueued, SubscriptionInfo, SubscriptionSecret
from shared.api.openapi import Security
from shared.api.requests import DeliveriesQuery, NewSubscription, SubscriptionChange
from shared.auth import Principal
from shared.http import ApiBlueprint, json_response, read_json, read_query, route
from shared.wiring import app

bp = ApiBlueprint()
USER = Security.USER
NO_STORE = {"Cache-Control": "no-store"}
TAG = "notifications"


def _info(subscription) -> SubscriptionInfo:
    return SubscriptionInfo.of(subscription, app().adapters.clock.now())


def _with_secret(created) -> SubscriptionSecret:
    return SubscriptionSecret(**_info(created.subscription).model_dump(), secret=created.secret)


@bp.endpoint("subscription", "POST", security=USER, operation_id="createSubscription",
             summary="Subscribe a URL to the caller's job and sweep events", tag=TAG, body=NewSubscription,
             answers={201: SubscriptionSecret}, errors=(404, 409),
             answer_headers={"Location": "the subscription"},
             description="Events are signed as Standard Webhooks v1 with the secret in the answer, shown this once. "
                         "The URL must be https and its host must resolve to public addresses only (a private, "
                         "loopback, link-local, CGNAT, unique-local, multicast or metadata address is a 422). A "
                         "sweep_id of another user is a 404; more subscriptions than allowed a 409. Nothing is "
                         "stored on a refusal.",
             links={"GetSubscription": "getSubscription", "TestSubscription": "testSubscription"},
             link_parameter="subscription_id")
def create_subscription(req: func.HttpRequest, user: Principal) -> func.HttpResponse:
    body = read_json(req, NewSubscription)
    created = app().notifications.create(user, body.url, body.events, case_id=body.case_id, sweep_id=body.sweep_id,
                                         description=body.description)
    return json_response(_with_secret(created), status=201,
                         headers={"Location": f"/api/subscription/{created.subscription.subscription_id}",
                                  **NO_STORE})


@bp.endpoint("subscription", "GET", security=USER, operation_id="listSubscriptions",
             summary="The caller's subscriptions, newest first (no secrets)", tag=TAG,
             answers={200: list[SubscriptionInfo]})
def list_subscriptions(req: func.HttpRequest, user: Principal) -> func.HttpResponse:
    return json_response([_info(s) for s in app().notifications.list(user)], headers=NO_STORE)


@bp.endpoint("subscription/{subscription_id}", "GET", security=USER, operation_id="getSubscription",
             summary="One of the caller's subscriptions", tag=TAG, answers={200: SubscriptionInfo}, errors=(404,))
def get_subscription(req: func.HttpRequest, user: Principal) -> func.HttpResponse:
    return json_response(_info(app().notifications.get(user, route(req, "subscription_id"))), headers=NO_STORE)


@bp.endpoint("subscription/{subscription_id}", "PATCH", security=USER, operation_id="changeSubscription",
             summary="Change a subscription's events, pause or resume it", tag=TAG, body=SubscriptionChange,
             answers={200: SubscriptionInfo}, errors=(404,),
             description="enabled: true resumes a paused or disabled subscription: the events made before it stopped "
                         "and not yet delivered are tried at once, in order; nothing that happened while it "
                         "was paused or disabled is announced.")
def change_subscription(req: func.HttpRequest, user: Principal) -> func.HttpResponse:
    body = read_json(req, SubscriptionChange)
    changed = app().notifications.change(user, route(req, "subscription_id"), events=body.events,
                                         enabled=body.enabled, description=body.description)
    return json_response(_info(changed), headers=NO_STORE)


@bp.endpoint("subscription/{subscription_id}", "DELETE", security=USER, operation_id="deleteSubscription",
             summary="Delete a subscription, its pending events and its delivery log", tag=TAG,
             answers={204: None}, errors=(404,))
def delete_subscription(req: func.HttpRequest, user: Principal) -> func.HttpResponse:
    app().notifications.delete(user, route(req, "subscription_id"))
    return func.HttpResponse(status_code=204)


@bp.endpoint("subscription/{subscription_id}/rotate", "POST", security=USER, operation_id="rotateSubscription",
             summary="A new signing secret; the old one keeps signing beside it for 24 hours", tag=TAG,
             answers={200: SubscriptionSecret}, errors=(404,),
             description="During the overlap every delivery carries two signatures (webhook-signature holds both, "
                         "space-separated), so receivers can switch secrets without losing an event.")
def rotate_subscription(req: func.HttpRequest, user: Principal) -> func.HttpResponse:
    return json_response(_with_secret(app().notifications.rotate(user, route(req, "subscription_id"))),
                         headers=NO_STORE)


@bp.endpoint("subscription/{subscription_id}/test", "POST", security=USER, operation_id="testSubscription",
             summary="Send a ping event to the subscription's URL", tag=TAG,
             answers={202: PingQueued}, errors=(404, 409),
             description="Queued and sent like any event (signed, retried); its attempts show in the deliveries. "
                         "A disabled subscription is a 409.")
def test_subscription(req: func.HttpRequest, user: Principal) -> func.HttpResponse:
    delivery_id = app().notifications.test(user, route(req, "subscription_id"))
    return json_response(PingQueued(delivery_id=delivery_id), status=202, headers=NO_STORE)


@bp.endpoint("subscription/{subscription_id}/deliveries", "GET", security=USER, operation_id="listDeliveries",
             summary="The subscription's latest delivery attempts, newest first", tag=TAG, query=DeliveriesQuery,
             answers={200: list[DeliveryAttempt]}, errors=(404,),
             description="Each attempt's event, time, status code, latency, error class and next attempt; never "
                         "the receiver's answer.")
def list_deliveries(req: func.HttpRequest, user: Principal) -> func.HttpResponse:
    query = read_query(req, DeliveriesQuery)
    attempts = app().notifications.deliveries(user, route(req, "subscription_id"), query.limit)
    return json_response([DeliveryAttempt.of(a) for a in attempts], headers=NO_STORE)


@bp.endpoint("subscription/{subscription_id}/deliveries/{delivery_id}/redeliver", "POST", security=USER,
             operation_id="redeliver", summary="Send one event again (same webhook-id)", tag=TAG,
             answers={202: RedeliveryQueued}, errors=(404, 409),
             description="A disabled subscription is a 409: enable it first.")
def redeliver(req: func.HttpRequest, user: Principal) -> func.HttpResponse:
    delivery_id = route(req, "delivery_id")
    app().notifications.redeliver(user, route(req, "subscription_id"), delivery_id)
    return json_response(RedeliveryQueued(delivery_id=delivery_id), status=202, headers=NO_STORE)
