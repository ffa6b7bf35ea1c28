import { useEffect } from "react";

/** "Jobs · simgate" in the tab and in screen readers' page announcements. */
export function usePageTitle(title: string | undefined): void {
  useEffect(() => {
    document.title = title ? `${title} · simgate` : "simgate";
  }, [title]);
}
