import { MutationCache, QueryCache, QueryClient } from "@tanstack/react-query";
import { ApiError } from "./errors";
import { queryKeys } from "./queries";

/** Only what may pass by itself is tried again; the pages show every other error at once. */
function retryTransient(failures: number, error: unknown): boolean {
  return failures < 2 && error instanceof ApiError && error.kind === "network";
}

/**
 * A 401 (or Static Web Apps' sign-in page) or a 403 may mean the session ended or its roles
 * changed: whoever asked shows its error, and here, once for the app, /.auth/me is read again, so
 * a signed-out visitor goes to the landing page and a user who lost a role no longer sees its tools.
 */
function onApiError(client: () => QueryClient) {
  return (error: unknown) => {
    if (error instanceof ApiError && (error.kind === "signed-out" || error.status === 403)) {
      void client().invalidateQueries({ queryKey: queryKeys.signedIn }, { cancelRefetch: false });
    }
  };
}

export function createQueryClient(): QueryClient {
  const client: QueryClient = new QueryClient({
    queryCache: new QueryCache({ onError: onApiError(() => client) }),
    mutationCache: new MutationCache({ onError: onApiError(() => client) }),
    defaultOptions: {
      queries: { retry: retryTransient },
      mutations: { retry: false },
    },
  });
  return client;
}

/** The app's one query client: every page reads through its cache. */
export const queryClient = createQueryClient();
