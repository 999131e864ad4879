import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Structured JSON logs: a fixed message plus fields, never data concatenated into the message.
 * Secrets are redacted wherever they appear under these keys.
 */
export function createLogger(app: string, level = 'info'): Logger {
  return pino({
    name: app,
    level,
    base: { app },
    redact: {
      paths: [
        'authorization',
        '*.authorization',
        'req.headers.authorization',
        'key',
        '*.key',
        'token',
        '*.token',
        'password',
        '*.password',
      ],
      censor: '[redacted]',
    },
  });
}
