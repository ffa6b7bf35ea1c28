import { useCallback, useMemo, useState } from "react";
import { ApiError } from "../api/errors";
import type { FieldSpec, FieldValues } from "../api/types";
import { draftsFrom, sortErrors, type DraftValue, type DraftValues } from "./fieldValues";

/** The values being edited in a job form, and the last save's error sorted by input. */
export function useFieldDrafts(fields: FieldSpec[] | undefined, initial: FieldValues | undefined, initialError: unknown = null) {
  const [drafts, setDrafts] = useState<DraftValues | null>(null);
  const [error, setError] = useState<unknown>(initialError);
  const values = useMemo(() => drafts ?? (fields ? draftsFrom(fields, initial) : {}), [drafts, fields, initial]);

  const change = useCallback(
    (name: string, value: DraftValue) => setDrafts((current) => ({ ...(current ?? values), [name]: value })),
    [values],
  );

  const names = useMemo(() => ["job_title", ...(fields ?? []).map((f) => f.name)], [fields]);
  const sorted = useMemo(
    () => sortErrors(error instanceof ApiError ? error.fieldErrors : [], names),
    [error, names],
  );
  const fieldCount = Object.keys(sorted.byField).length;
  const reset = useCallback(() => setDrafts(null), []);
  return { values, change, error, setError, byField: sorted.byField, general: sorted.general, fieldCount, dirty: drafts !== null, reset };
}
