import { Route, Routes } from "react-router";
import { Layout } from "./components/Layout";
import { RequireAdmin } from "./components/RequireAdmin";
import { RequireSignIn } from "./components/RequireSignIn";
import { CasePage } from "./cases/CasePage";
import { CasesPage } from "./cases/CasesPage";
import { JobPage } from "./job/JobPage";
import { NewJobPage } from "./job/NewJobPage";
import { JobsPage } from "./jobs/JobsPage";
import { NotificationsPage } from "./notifications/NotificationsPage";
import { LandingPage } from "./pages/LandingPage";
import { NotFoundPage } from "./pages/NotFoundPage";
import { SitesPage } from "./sites/SitesPage";
import { ComparePage } from "./studies/ComparePage";
import { SweepPage } from "./studies/SweepPage";
import { SweepsPage } from "./studies/SweepsPage";

/** The app's routes. staticwebapp.config.json lists the same prefixes (/cases, /jobs, /sweeps, /compare, /sites, /settings) as signed-in only. */
export function App() {
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route index element={<LandingPage />} />
        <Route element={<RequireSignIn />}>
          <Route path="cases" element={<CasesPage />} />
          <Route path="cases/:caseId" element={<CasePage />} />
          <Route path="cases/:caseId/new" element={<NewJobPage />} />
          <Route path="jobs" element={<JobsPage />} />
          <Route path="jobs/:jobId" element={<JobPage />} />
          <Route path="sweeps" element={<SweepsPage />} />
          <Route path="sweeps/:sweepId" element={<SweepPage />} />
          <Route path="compare" element={<ComparePage />} />
          <Route path="settings/notifications" element={<NotificationsPage />} />
          <Route element={<RequireAdmin />}>
            <Route path="sites" element={<SitesPage />} />
          </Route>
        </Route>
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
