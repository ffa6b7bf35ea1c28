"""Create the tables, containers and queues the app expects (infra creates them in Azure)."""

from __future__ import annotations

from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import CorsRule

from shared.adapters.job_queue import local_dead_letter_queue
from shared.adapters.storage import StorageClients
from shared.config import Settings


def provision(settings: Settings, clients: StorageClients, browser_origins: tuple[str, ...] | list[str] = ()) -> list[str]:
    """``browser_origins``: web apps whose pages read blobs by SAS link (Blob CORS, as infra sets it)."""
    created = []
    for table in (settings.cases_table, settings.jobs_table):
        clients.table_service.create_table_if_not_exists(table)
        created.append(f"table {table}")
    for container in (settings.scripts_container, settings.outputs_container):
        try:
            clients.blob_service.create_container(container)
        except ResourceExistsError:
            pass
        created.append(f"container {container}")
    if browser_origins:
        clients.blob_service.set_service_properties(cors=[CorsRule(
            list(browser_origins), ["GET", "HEAD"], allowed_headers=["*"],
            exposed_headers=["Content-Length", "Content-Type", "Content-Disposition", "ETag"], max_age_in_seconds=3600)])
        created.append(f"blob CORS for {', '.join(browser_origins)}")
    for queue in (settings.jobs_queue, local_dead_letter_queue(settings.jobs_queue)):
        try:
            clients.queue_service.create_queue(queue)
        except ResourceExistsError:
            pass
        created.append(f"queue {queue}")
    return created
