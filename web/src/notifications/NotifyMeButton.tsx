import { useId } from "react";
import { isFinished } from "../api/jobStatuses";
import type { JobDetails } from "../api/types";
import { BellIcon } from "./BellIcon";
import { permissionNote } from "./finishNotice";
import { useFinishNotice } from "./useFinishNotice";
import "./notifications.css";

/**
 * "Notify me in this browser" while the job has not finished: a toggle that asks the browser for
 * permission and, once the page sees the job finish, shows one notification. Beside it, what the
 * browser allows (blocked, or no notifications at all). Stays mounted when the job finishes, to
 * see it happen, but shows nothing then.
 */
export function NotifyMeButton({ job }: { job: JobDetails }) {
  const noteId = useId();
  const { on, permission, asking, problem, toggle } = useFinishNotice(job);
  if (isFinished(job.status)) return null;
  const blocked = permission === "denied" || permission === "unsupported";
  return (
    <div className={`notify-me${blocked ? " notify-me-blocked" : ""}`}>
      <button
        type="button"
        className="button button-secondary button-small notify-me-button"
        aria-pressed={on}
        aria-describedby={noteId}
        disabled={asking || permission === "unsupported"}
        onClick={() => void toggle()}
      >
        <BellIcon />
        Notify me in this browser
      </button>
      <p id={noteId} className="notify-me-note" role="status">
        {problem ?? permissionNote(permission, on)}
      </p>
    </div>
  );
}
