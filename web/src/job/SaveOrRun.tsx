import { useState, type FormEvent } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { useRunJob } from "../api/mutations";
import { queryKeys } from "../api/queries";

export type SaveOrRunAction = "save" | "run";

/** What a save step gives back: the job it saved, and whatever its form wants to know afterwards. */
export interface Saved {
  jobId: string;
}

export interface SaveOrRunSteps<S extends Saved> {
  /** The draft whose values are saved; none while the save step creates it. */
  jobId?: string;
  /** Where Run asks the job to go; none: the offer that starts it soonest. */
  simulator?: string | null;
  /** Creates the draft or saves its values. */
  save: () => Promise<S>;
  onDone: (saved: S, action: SaveOrRunAction) => void;
  onSaveFailed: (error: unknown) => void;
  /** The draft exists (and has the values) but did not start. */
  onRunFailed: (error: unknown, saved: S) => void;
}

/** Which of the form's two submit buttons was pressed. */
function actionOf(event: FormEvent<HTMLFormElement>): SaveOrRunAction {
  const submitter = (event.nativeEvent as SubmitEvent).submitter as HTMLButtonElement | null;
  return submitter?.value === "run" ? "run" : "save";
}

/**
 * The submit of a job form with two buttons, Save and Run (= save, then start the job): the new
 * job page's and the draft editor's. Once both steps are over the job and the lists are read again.
 */
export function useSaveOrRun<S extends Saved>(steps: SaveOrRunSteps<S>) {
  const client = useQueryClient();
  const run = useRunJob();
  const [busy, setBusy] = useState<SaveOrRunAction | null>(null);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const action = actionOf(event);
    setBusy(action);
    let saved: S | undefined;
    try {
      saved = await steps.save();
      if (action === "run") await run.mutateAsync({ jobId: saved.jobId, simulator: steps.simulator });
    } catch (error) {
      if (saved) steps.onRunFailed(error, saved);
      else steps.onSaveFailed(error);
      return;
    } finally {
      setBusy(null);
      const jobId = saved?.jobId ?? steps.jobId;
      if (jobId) void client.invalidateQueries({ queryKey: queryKeys.job(jobId) });
      void client.invalidateQueries({ queryKey: queryKeys.jobLists });
    }
    steps.onDone(saved, action);
  };

  return { busy, submit };
}

/** The two submit buttons; the one pressed says so while it works, and both wait for it. */
export function SaveOrRunButtons({
  busy,
  name,
  saveLabel,
  runLabel,
  saveDisabled = false,
}: {
  busy: SaveOrRunAction | null;
  /** The buttons' form name, if the form sends one. */
  name?: string;
  saveLabel: string;
  runLabel: string;
  saveDisabled?: boolean;
}) {
  return (
    <>
      <button type="submit" name={name} value="save" className="button button-secondary" disabled={busy !== null || saveDisabled}>
        {busy === "save" ? "Saving…" : saveLabel}
      </button>
      <button type="submit" name={name} value="run" className="button button-primary" disabled={busy !== null}>
        {busy === "run" ? "Starting…" : runLabel}
      </button>
    </>
  );
}
