import { Outlet } from "react-router";
import { useAuth } from "../auth/AuthContext";
import { NotFoundPage } from "../pages/NotFoundPage";

/** Admin pages: to anyone else there is no such page (the API refuses them the data too). */
export function RequireAdmin() {
  const { isAdmin } = useAuth();
  return isAdmin ? <Outlet /> : <NotFoundPage />;
}
