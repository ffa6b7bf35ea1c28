import { useQuery } from "@tanstack/react-query";
import { offersQuery } from "../api/queries";
import type { JobDetails } from "../api/types";
import { localizeTimes } from "../lib/format";
import { describeWaiting } from "../lib/sites";

/** Where a submitted job goes and why, and how busy that site's line is. */
export function WaitingPlacement({ job }: { job: JobDetails }) {
  return (
    <div className="placement-note">
      <p>
        <span className="placement-label">Placed:</span>{" "}
        {job.placement ? (
          localizeTimes(job.placement)
        ) : (
          <span className="muted">not yet; it goes to the simulator that can start it soonest.</span>
        )}
      </p>
      {job.simulator && <SiteLine jobId={job.job_id} simulator={job.simulator} />}
    </div>
  );
}

/** "Line at local: 4/4 slots in use, 2 other jobs waiting", from the job's offers. */
function SiteLine({ jobId, simulator }: { jobId: string; simulator: string }) {
  const { data } = useQuery(offersQuery(jobId));
  const offer = data?.offers.find((o) => o.simulator === simulator);
  if (!offer) return null;
  return (
    <p className="muted small">
      <span className="placement-label">Line at {simulator}:</span> {offer.running}/{offer.limits.max_parallel_jobs} slots in
      use, {describeWaiting(offer.waiting, { others: true })}.
    </p>
  );
}
