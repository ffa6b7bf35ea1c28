"""Create the tables, containers and queues the app expects (infra creates them in Azure)."""

from __future__ import annotations

from azure.core.exceptions import ResourceExistsError

from shared.adapters.job_queue import local_dead_letter_queue
from shared.adapters.storage import StorageClients
from shared.config import Settings


def provision(settings: Settings, clients: StorageClients) -> list[str]:
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
    for queue in (settings.jobs_queue, local_dead_letter_queue(settings.jobs_queue)):
        try:
            clients.queue_service.create_queue(queue)
        except ResourceExistsError:
            pass
        created.append(f"queue {queue}")
    return created
