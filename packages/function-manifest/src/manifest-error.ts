/**
 * The user's project cannot be built as a function. The message is for the user: what is wrong,
 * where (file, and line when it is a syntax error), and how to fix it.
 */
export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManifestError';
  }
}
