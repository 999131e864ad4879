import { Link } from 'react-router';
import type { FunctionLogLine } from '../../api/client';

/** Function log lines as the console shows them: time, release, invocation, stream, text. */
export function LogLines({ app, lines, linkExecutions = true }: { app: string; lines: FunctionLogLine[]; linkExecutions?: boolean }) {
  return (
    <ol className="log function-log" data-testid="function-log">
      {lines.map((line) => (
        <li key={line.id} className={`log-line stream-${line.stream}`}>
          <time dateTime={line.at}>{new Date(line.at).toLocaleTimeString('en-GB', { hour12: false, fractionalSecondDigits: 3 })}</time>
          <span className="log-release">{line.releaseNumber === null ? '' : `#${line.releaseNumber}`}</span>
          <span className="log-execution">
            {line.executionId && linkExecutions ? (
              <Link to={`/apps/${app}/invocations/${line.executionId}`} title={line.executionId}>
                {line.executionId.slice(-8)}
              </Link>
            ) : (
              (line.executionId?.slice(-8) ?? '')
            )}
          </span>
          <span className="log-stream">{line.stream}</span>
          <span className="log-text">{line.text}</span>
        </li>
      ))}
    </ol>
  );
}
