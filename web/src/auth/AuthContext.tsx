import { createContext, useContext, type ReactNode } from "react";
import { getSignedInUser, isAdmin } from "../api";
import type { ClientPrincipal } from "../api/types";
import { useLoad } from "../lib/useLoad";

export interface Auth {
  user: ClientPrincipal | null;
  isAdmin: boolean;
  loading: boolean;
  error: unknown;
}

const AuthContext = createContext<Auth>({ user: null, isAdmin: false, loading: true, error: null });

/** Reads /.auth/me once for the whole app. */
export function AuthProvider({ children }: { children: ReactNode }) {
  const { data, loading, error } = useLoad((signal) => getSignedInUser(signal), []);
  const user = data ?? null;
  return (
    <AuthContext.Provider value={{ user, isAdmin: isAdmin(user), loading, error }}>{children}</AuthContext.Provider>
  );
}

export function useAuth(): Auth {
  return useContext(AuthContext);
}
