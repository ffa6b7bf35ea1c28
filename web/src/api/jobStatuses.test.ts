import { describe, expect, it } from "vitest";
import { STATUS_LABEL, STATUS_MEANING } from "../lib/status";
import { JOB_STATUSES, isActive, isFinished } from "./jobStatuses";
import documentText from "./openapi.json?raw";

const schemas = JSON.parse(documentText).components.schemas;

describe("job statuses", () => {
  it("are the API document's, in its order, grouped as it groups them", () => {
    expect(JOB_STATUSES).toEqual(schemas.JobStatus.enum);
    expect(JOB_STATUSES.filter(isActive)).toEqual(schemas.ActiveJobStatus.enum);
    expect(JOB_STATUSES.filter(isFinished)).toEqual(schemas.TerminalJobStatus.enum);
    expect(JOB_STATUSES.filter((s) => isActive(s) && isFinished(s))).toEqual([]);
  });

  it("each have words for people", () => {
    for (const status of JOB_STATUSES) {
      expect(STATUS_LABEL[status]).toBeTruthy();
      expect(STATUS_MEANING[status]).toBeTruthy();
    }
  });
});
