import type { Build } from '../../api/client';

const tone: Record<Build['status'], string> = { queued: 'wait', running: 'wait', succeeded: 'good', failed: 'bad', canceled: 'muted' };

export function BuildStatus({ status }: { status: Build['status'] }) {
  return <span className={`pill ${tone[status]}`}>{status}</span>;
}
