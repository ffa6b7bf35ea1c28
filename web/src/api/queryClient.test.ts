import { describe, expect, it } from "vitest";
import { ApiError } from "./errors";
import { queryKeys } from "./queries";
import { createQueryClient } from "./queryClient";

describe("the query client", () => {
  it("reads who is signed in again once a query or mutation hears the session ended or is not allowed", async () => {
    const client = createQueryClient();
    client.setQueryData(queryKeys.signedIn, null);
    const signedIn = () => client.getQueryState(queryKeys.signedIn)?.isInvalidated;

    await client.fetchQuery({ queryKey: ["x"], queryFn: () => Promise.reject(new ApiError("problem", 404, "gone")) }).catch(() => {});
    expect(signedIn()).toBe(false);

    await client.fetchQuery({ queryKey: ["y"], queryFn: () => Promise.reject(new ApiError("signed-out", 401, "ended")) }).catch(() => {});
    expect(signedIn()).toBe(true);

    client.setQueryData(queryKeys.signedIn, null);
    await client
      .getMutationCache()
      .build(client, { mutationFn: () => Promise.reject(new ApiError("problem", 403, "not yours")) })
      .execute(undefined)
      .catch(() => {});
    expect(signedIn()).toBe(true);
  });

  it("tries again only what may pass by itself", async () => {
    const client = createQueryClient();
    let calls = 0;
    await client
      .fetchQuery({ queryKey: ["z"], retryDelay: 0, queryFn: () => Promise.reject(new ApiError("problem", 422, `no ${++calls}`)) })
      .catch(() => {});
    expect(calls).toBe(1);
    calls = 0;
    await client
      .fetchQuery({ queryKey: ["w"], retryDelay: 0, queryFn: () => Promise.reject(new ApiError("network", 0, `down ${++calls}`)) })
      .catch(() => {});
    expect(calls).toBe(3);
  });
});
