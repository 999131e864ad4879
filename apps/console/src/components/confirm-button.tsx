import { type ReactNode, useId, useRef, useState } from 'react';
import { ErrorNotice } from './states';

/**
 * A button that asks first, in a modal <dialog> (focus moves into it, Escape cancels), and runs
 * `action` only when confirmed; the API's message shows in the dialog when it fails.
 */
export function ConfirmButton({
  label,
  title,
  children,
  confirmLabel,
  action,
  danger = false,
  disabled = false,
}: {
  label: string;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  action: () => Promise<unknown>;
  danger?: boolean;
  disabled?: boolean;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();

  const confirm = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
      dialog.current?.close();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <button type="button" className={danger ? 'danger' : 'secondary'} disabled={disabled} onClick={() => dialog.current?.showModal()}>
        {label}
      </button>
      <dialog ref={dialog} aria-labelledby={titleId} onClose={() => setError(undefined)}>
        <h2 id={titleId}>{title}</h2>
        <div className="dialog-body">{children}</div>
        {error ? <ErrorNotice error={error} /> : null}
        <div className="dialog-actions">
          <button type="button" className="secondary" onClick={() => dialog.current?.close()}>
            Cancel
          </button>
          <button type="button" className={danger ? 'danger' : 'primary'} disabled={busy} onClick={confirm}>
            {busy ? 'Working…' : confirmLabel}
          </button>
        </div>
      </dialog>
    </>
  );
}
