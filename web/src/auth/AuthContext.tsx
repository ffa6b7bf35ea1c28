import { createContext, useContext, type ReactNode } from "react";
import { useQuery } from "@tanstack/react-query";
import { isAdmin } from "../api";
import { signedInQuery } from "../api/queries";
import type { ClientPrincipal } from "../api/types";

export interface Auth {
  user: ClientPrincipal | null;
  isAdmin: boolean;
  loading: boolean;
  error: unknown;
}

const AuthContext = createContext<Auth>({ user: null, isAdmin: false, loading: true, error: null });

/** Reads /.auth/me once for the whole app (again when the API says the session or its roles changed). */
export function AuthProvider({ children }: { children: ReactNode }) {
  const { data, isPending, error } = useQuery(signedInQuery());
  const user = data ?? null;
  return (
    <AuthContext.Provider value={{ user, isAdmin: isAdmin(user), loading: isPending, error: data === undefined ? error : null }}>{children}</AuthContext.Provider>
  );
}

export function useAuth(): Auth {
  return useContext(AuthContext);
}
