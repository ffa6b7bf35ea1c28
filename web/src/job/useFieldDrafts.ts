import { useCallback, useMemo, useState } from "react";
import { ApiError } from "../api/errors";
import type { FieldSpec, FieldValues } from "../api/types";
import { draftsFrom, sortErrors, type DraftValue, type DraftValues } from "./fieldValues";

const NO_OTHER_INPUTS: readonly string[] = [];

/**
 * The values being edited in a job form, and the last save's error sorted by input: the title, the
 * case's fields and the form's `otherInputs` (such as "simulator") each have their own.
 */
export function useFieldDrafts(
  fields: FieldSpec[] | undefined,
  initial: FieldValues | undefined,
  initialError: unknown = null,
  otherInputs: readonly string[] = NO_OTHER_INPUTS,
) {
  const [drafts, setDrafts] = useState<DraftValues | null>(null);
  const [error, setError] = useState<unknown>(initialError);
  const values = useMemo(() => drafts ?? (fields ? draftsFrom(fields, initial) : {}), [drafts, fields, initial]);

  const change = useCallback(
    (name: string, value: DraftValue) => setDrafts((current) => ({ ...(current ?? values), [name]: value })),
    [values],
  );

  const names = useMemo(() => ["job_title", ...otherInputs, ...(fields ?? []).map((f) => f.name)], [fields, otherInputs]);
  const sorted = useMemo(
    () => sortErrors(error instanceof ApiError ? error.fieldErrors : [], names),
    [error, names],
  );
  const fieldCount = Object.keys(sorted.byField).length;
  const reset = useCallback(() => setDrafts(null), []);
  return { values, change, error, setError, byField: sorted.byField, general: sorted.general, fieldCount, dirty: drafts !== null, reset };
}
