// Output of the provisioning script: short lines on stderr, prefixed so they stand out from the apps' logs.

export function say(message: string): void {
  process.stderr.write(`[ignite] ${message}\n`);
}

/** A failure the user can fix: what is wrong and the one command that fixes it. No stack trace. */
export class ProvisionError extends Error {
  readonly fix: string | undefined;

  constructor(message: string, fix?: string) {
    super(message);
    this.fix = fix;
  }
}
