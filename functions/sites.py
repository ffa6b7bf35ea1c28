"""The sites endpoints: a job's offers before (or while) it waits to run, and the admins' view of
every site."""

import azure.functions as func

from shared.api.models import JobOffers, OfferInfo, SiteInfo
from shared.api.openapi import Security
from shared.auth import Principal
from shared.http import ApiBlueprint, json_response, route
from shared.wiring import app

bp = ApiBlueprint()
NO_STORE = {"Cache-Control": "no-store"}


@bp.endpoint("job/{job_id}/offers", "GET", security=Security.USER, operation_id="getJobOffers",
             summary="Where a job could run and when each site would start it", tag="sites",
             answers={200: JobOffers}, errors=(404,),
             description="For every simulator the job's case may use: whether it can take the job (and why not), "
                         "its slots, licences and line, an estimated start and duration with what each rests on. "
                         "Run the job with {\"simulator\": name} to choose; without it the soonest offer is taken.")
def get_offers(req: func.HttpRequest, user: Principal) -> func.HttpResponse:
    job_id = route(req, "job_id")
    job, offers = app().jobs.offers(user, job_id)
    return json_response(JobOffers(job_id=job.job_id, simulator=job.simulator, placement=job.placement,
                                   offers=[OfferInfo.of(o) for o in offers]), headers=NO_STORE)


@bp.endpoint("simulators", "GET", security=Security.USER, operation_id="listSimulators",
             summary="Every site with its limits, usage, reachability and line (admins)", tag="sites",
             answers={200: list[SiteInfo]}, errors=(403,))
def list_simulators(req: func.HttpRequest, user: Principal) -> func.HttpResponse:
    return json_response([SiteInfo.of(view) for view in app().sites.overview(user)], headers=NO_STORE)
