import type { ReactNode } from 'react';
import { ApiProblem } from '../api/client';

/** A wait the user can see (and a screen reader hears). */
export function Loading({ what }: { what: string }) {
  return (
    <p className="state loading" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

/** Nothing here yet, and what to do about it. */
export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state empty">
      <p className="empty-title">{title}</p>
      {children ? <div className="empty-hint">{children}</div> : null}
    </div>
  );
}

/** The API's own message for what failed (its `error`), with its code. */
export function ErrorNotice({ error, title }: { error: unknown; title?: string }) {
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof ApiProblem ? error.code : undefined;
  return (
    <div className="state error" role="alert">
      {title ? <strong>{title}: </strong> : null}
      <span className="error-message">{message}</span>
      {code ? <code className="error-code">{code}</code> : null}
    </div>
  );
}
