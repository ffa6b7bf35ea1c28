import { NavLink } from "react-router";
import { signInUrl, signOutUrl } from "../api";
import { useAuth } from "../auth/AuthContext";
import { BellIcon } from "../notifications/BellIcon";

export function NavBar() {
  const { user, isAdmin, loading } = useAuth();
  return (
    <header className="navbar">
      <div className="navbar-inner">
        <NavLink to={user ? "/cases" : "/"} className="brand" aria-label="simgate home">
          <svg viewBox="0 0 32 32" width="26" height="26" aria-hidden="true">
            <rect width="32" height="32" rx="7" fill="currentColor" />
            <path d="M7 21c3-9 6-9 9 0s6 9 9 0" fill="none" stroke="#fff" strokeWidth="3" strokeLinecap="round" />
          </svg>
          <span>simgate</span>
        </NavLink>
        {user && (
          <nav aria-label="Main" className="navbar-links">
            <NavLink to="/cases">Cases</NavLink>
            <NavLink to="/jobs">Jobs</NavLink>
            <NavLink to="/sweeps">Sweeps</NavLink>
            <NavLink to="/settings/notifications" className="nav-notifications">
              <BellIcon size={20} />
              <span className="nav-label">Notifications</span>
            </NavLink>
            {isAdmin && <NavLink to="/sites">Sites</NavLink>}
          </nav>
        )}
        <div className="navbar-user">
          {loading ? null : user ? (
            <>
              <span className="user-name" title={user.userId}>
                <span className="avatar" aria-hidden="true">
                  {(user.userDetails || user.userId).slice(0, 1).toUpperCase()}
                </span>
                <span className="user-text">
                  <span className="visually-hidden">Signed in as </span>
                  {user.userDetails || user.userId}
                </span>
                {isAdmin && <span className="badge">admin</span>}
              </span>
              <a className="button button-ghost" href={signOutUrl("/")}>
                Sign out
              </a>
            </>
          ) : (
            <a className="button button-primary" href={signInUrl("/cases")}>
              Sign in
            </a>
          )}
        </div>
      </div>
    </header>
  );
}
