/** The URL's query with one filter set (an empty value removes it), back on the first page. */
export function withFilter(current: URLSearchParams, name: string, value: string): URLSearchParams {
  const next = new URLSearchParams(current);
  if (value) next.set(name, value);
  else next.delete(name);
  next.delete("page");
  return next;
}
