import type { FunctionLogLineView } from '@ignite/contracts';
import type { StoredLogLine } from './logs.repository';

export function logLineView(line: StoredLogLine): FunctionLogLineView {
  return {
    id: line.id.toString(),
    at: line.at.toISOString(),
    executionId: line.executionId,
    releaseNumber: line.releaseNumber,
    instance: line.instanceId,
    stream: line.stream,
    text: line.text,
  };
}
