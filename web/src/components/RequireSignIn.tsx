import { Navigate, Outlet, useLocation } from "react-router";
import { useAuth } from "../auth/AuthContext";
import { ErrorMessage, Loading } from "./States";

/** App routes need a signed-in user (Static Web Apps enforces it too); others see the landing. */
export function RequireSignIn() {
  const { user, loading, error } = useAuth();
  const location = useLocation();
  if (loading) return <Loading what="Checking who is signed in…" />;
  if (error) return <ErrorMessage title="Could not check who is signed in" error={error} onRetry={() => window.location.reload()} />;
  if (!user) return <Navigate to={`/?from=${encodeURIComponent(location.pathname + location.search)}`} replace />;
  return <Outlet />;
}
