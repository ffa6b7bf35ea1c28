import type { AuthMe, ClientPrincipal } from "./types";

/** The role that makes an admin (the backend's ADMIN_ROLE). */
export const ADMIN_ROLE = "simgate.admin";

/** Who is signed in, from Static Web Apps' /.auth/me; null when nobody is. */
export async function getSignedInUser(signal?: AbortSignal): Promise<ClientPrincipal | null> {
  const response = await fetch("/.auth/me", { credentials: "same-origin", signal, headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`Could not read who is signed in (HTTP ${response.status}).`);
  const body = (await response.json()) as AuthMe;
  return body?.clientPrincipal ?? null;
}

export function isAdmin(user: ClientPrincipal | null): boolean {
  return !!user?.userRoles?.includes(ADMIN_ROLE);
}

export function signInUrl(returnTo = "/cases"): string {
  return `/.auth/login/aad?post_login_redirect_uri=${encodeURIComponent(returnTo)}`;
}

export function signOutUrl(returnTo = "/"): string {
  return `/.auth/logout?post_logout_redirect_uri=${encodeURIComponent(returnTo)}`;
}
