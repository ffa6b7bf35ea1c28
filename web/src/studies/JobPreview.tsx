import { useId, useRef, type KeyboardEvent, type ReactNode } from "react";
import { useQuery } from "@tanstack/react-query";
import { useSearchParams } from "react-router";
import { jobPreviewQuery } from "../api/queries";
import type { JobDetails } from "../api/types";
import { ErrorMessage, Loading } from "../components/States";
import { asSentence, humanize, localizeTimes } from "../lib/format";
import { QuotesTable } from "./QuotesTable";

type Tab = "values" | "preview";
const TABS: { tab: Tab; label: string }[] = [
  { tab: "values", label: "Values" },
  { tab: "preview", label: "Preview" },
];

/**
 * A draft's two views as tabs: its values (the editor) and the preview of its run. The tab is kept
 * in the URL (`?tab=preview`); the editor stays mounted while the preview is shown, so nothing typed
 * is lost. Arrow keys, Home and End move between the tabs.
 */
export function DraftTabs({ values, preview }: { values: ReactNode; preview: ReactNode }) {
  const id = useId();
  const [params, setParams] = useSearchParams();
  const current: Tab = params.get("tab") === "preview" ? "preview" : "values";
  const refs = useRef<Record<Tab, HTMLButtonElement | null>>({ values: null, preview: null });
  const show = (tab: Tab) =>
    setParams(
      (now) => {
        const next = new URLSearchParams(now);
        if (tab === "preview") next.set("tab", "preview");
        else next.delete("tab");
        return next;
      },
      { replace: true, preventScrollReset: true },
    );
  const onKeyDown = (event: KeyboardEvent) => {
    const at = TABS.findIndex((t) => t.tab === current);
    const to =
      event.key === "ArrowRight" ? (at + 1) % TABS.length
      : event.key === "ArrowLeft" ? (at + TABS.length - 1) % TABS.length
      : event.key === "Home" ? 0
      : event.key === "End" ? TABS.length - 1
      : null;
    if (to === null) return;
    event.preventDefault();
    show(TABS[to].tab);
    refs.current[TABS[to].tab]?.focus();
  };

  return (
    <div className="draft-tabs">
      <div className="tabs" role="tablist" aria-label="The draft" onKeyDown={onKeyDown}>
        {TABS.map(({ tab, label }) => (
          <button
            key={tab}
            ref={(el) => {
              refs.current[tab] = el;
            }}
            type="button"
            role="tab"
            id={`${id}-${tab}-tab`}
            className="tab"
            aria-selected={current === tab}
            aria-controls={`${id}-${tab}`}
            tabIndex={current === tab ? 0 : -1}
            onClick={() => show(tab)}
          >
            {label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`${id}-values`} aria-labelledby={`${id}-values-tab`} hidden={current !== "values"}>
        {values}
      </div>
      <div role="tabpanel" id={`${id}-preview`} aria-labelledby={`${id}-preview-tab`} hidden={current !== "preview"}>
        {current === "preview" && preview}
      </div>
    </div>
  );
}

/**
 * What running the draft would do now: its scripts exactly as its start writes them, where it would
 * go, and each site's quote. Read again whenever the draft changes.
 */
export function JobPreview({ job }: { job: JobDetails }) {
  const preview = useQuery(jobPreviewQuery(job.job_id, job.updated));
  const answer = preview.data;
  const rendered = answer?.rendered[0];
  return (
    <section className="panel job-preview" aria-labelledby="job-preview-heading">
      <div className="panel-head">
        <h2 id="job-preview-heading">Preview</h2>
        <span className="muted small">With the saved values; save your changes to see them here.</span>
      </div>
      {preview.isPending && <Loading what="Rendering the draft's scripts…" />}
      <ErrorMessage title="Could not preview the draft" error={preview.error} onRetry={() => void preview.refetch()} />
      {answer && (
        <>
          {answer.problems.length > 0 && (
            <div className="alert alert-error" role="alert">
              <div>
                <p className="alert-title">It cannot run as it is</p>
                <ul className="error-list">
                  {answer.problems.map((problem, i) => (
                    <li key={i}>
                      {problem.field && <strong>{humanize(problem.field)}: </strong>}
                      {asSentence(problem.message)}
                    </li>
                  ))}
                </ul>
              </div>
            </div>
          )}
          <h3>Where it would run</h3>
          <p className="placement-text">
            {answer.placement ? localizeTimes(answer.placement) : <span className="muted">No placement could be worked out.</span>}
          </p>
          <QuotesTable quotes={answer.quotes} caption="What each site quotes for this job" now={new Date(preview.dataUpdatedAt || Date.now())} />
          <h3>Scripts</h3>
          {rendered && Object.keys(rendered.scripts).length ? (
            <div className="scripts">
              {Object.entries(rendered.scripts).map(([name, text]) => (
                <Script key={name} name={name} text={text} />
              ))}
            </div>
          ) : (
            <p className="muted">No scripts could be rendered.</p>
          )}
        </>
      )}
    </section>
  );
}

function Script({ name, text }: { name: string; text: string }) {
  const id = useId();
  return (
    <figure className="script">
      <figcaption id={id} className="script-name">
        <code>{name}</code>
      </figcaption>
      <pre className="code" tabIndex={0} aria-labelledby={id} data-script={name}>
        {text}
      </pre>
    </figure>
  );
}
