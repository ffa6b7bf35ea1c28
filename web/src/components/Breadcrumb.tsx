import { Fragment } from "react";
import { Link } from "react-router";

export interface Crumb {
  to: string;
  label: string;
}

/** Where the page sits: links to the pages above it, then the page itself. */
export function Breadcrumb({ trail, current }: { trail: Crumb[]; current: string }) {
  return (
    <nav aria-label="Breadcrumb" className="breadcrumb">
      {trail.map((crumb) => (
        <Fragment key={crumb.to}>
          <Link to={crumb.to}>{crumb.label}</Link>
          <span aria-hidden="true"> / </span>
        </Fragment>
      ))}
      <span aria-current="page">{current}</span>
    </nav>
  );
}
