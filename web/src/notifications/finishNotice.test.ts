import { describe, expect, it } from "vitest";
import { JOB_STATUSES, isFinished } from "../api/jobStatuses";
import {
  choiceKey,
  currentPermission,
  finishNotice,
  permissionNote,
  readChoice,
  shouldNotify,
  writeChoice,
} from "./finishNotice";

describe("which moves notify", () => {
  it("a move from a status that had not finished to done, failed or cancelled", () => {
    expect(shouldNotify("running", "done")).toBe(true);
    expect(shouldNotify("cleanup", "failed")).toBe(true);
    expect(shouldNotify("queued", "cancelled")).toBe(true);
    expect(shouldNotify("draft", "cancelled")).toBe(true);
  });

  it("not a move between statuses that have not finished, nor a job already finished when the page saw it first", () => {
    for (const before of JOB_STATUSES) {
      for (const now of JOB_STATUSES) {
        expect(shouldNotify(before, now)).toBe(!isFinished(before) && isFinished(now));
      }
    }
    expect(shouldNotify(undefined, "done")).toBe(false);
    expect(shouldNotify("done", "done")).toBe(false);
  });
});

describe("the notification", () => {
  it("names the job and its end", () => {
    const notice = finishNotice({ job_id: "j1", title: "Long mix", status: "done", error: null });
    expect(notice.title).toBe("Job “Long mix” done");
    expect(notice.options.body).toBe("Long mix: Finished; its results are ready.");
    expect(notice.options.tag).toBe("simgate-job-j1");
  });

  it("gives a failed job's error", () => {
    const notice = finishNotice({ job_id: "j1", title: "Long mix", status: "failed", error: "exit code 3" });
    expect(notice.title).toBe("Job “Long mix” failed");
    expect(notice.options.body).toBe("Long mix: exit code 3");
  });
});

function memoryStorage() {
  const items = new Map<string, string>();
  return {
    items,
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
    removeItem: (key: string) => void items.delete(key),
  };
}

describe("the choice per job", () => {
  it("is kept in the session's storage under the job's id", () => {
    const storage = memoryStorage();
    expect(readChoice(storage, "j1")).toBe(false);
    writeChoice(storage, "j1", true);
    expect(storage.items.get(choiceKey("j1"))).toBe("on");
    expect(readChoice(storage, "j1")).toBe(true);
    expect(readChoice(storage, "j2")).toBe(false);
    writeChoice(storage, "j1", false);
    expect(readChoice(storage, "j1")).toBe(false);
  });

  it("lasts as long as the page when storage is refused or missing", () => {
    const refusing = {
      getItem: () => {
        throw new Error("SecurityError");
      },
      setItem: () => {
        throw new Error("SecurityError");
      },
      removeItem: () => undefined,
    };
    expect(readChoice(refusing, "j1")).toBe(false);
    expect(() => writeChoice(refusing, "j1", true)).not.toThrow();
    expect(readChoice(undefined, "j1")).toBe(false);
  });
});

describe("what the browser allows", () => {
  it("is unsupported without the Notifications API", () => {
    expect(currentPermission({})).toBe("unsupported");
    expect(currentPermission({ Notification: { permission: "denied" } })).toBe("denied");
  });

  it("is said beside the button", () => {
    expect(permissionNote("unsupported", false)).toMatch(/cannot show notifications/);
    expect(permissionNote("denied", true)).toMatch(/blocked/);
    expect(permissionNote("granted", true)).toMatch(/^You will get a notification/);
  });
});
