import { useEffect, useRef } from "react";
import { Outlet, useLocation } from "react-router";
import { NavBar } from "./NavBar";

export function Layout() {
  const { pathname } = useLocation();
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
  // A new page: back to the top, and focus on the content so screen readers start there.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    window.scrollTo(0, 0);
    main.current?.focus({ preventScroll: true });
  }, [pathname]);

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <NavBar />
      <main id="main" ref={main} className="main" tabIndex={-1}>
        <Outlet />
      </main>
      <footer className="footer">
        <span>simgate · simulation cases on remote simulators</span>
      </footer>
    </>
  );
}
