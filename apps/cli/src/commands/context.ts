import { ApiClient } from '../api-client';
import { type CliConfig, loadCliConfig } from '../cli-config';
import { Output } from '../output';
import { type AppRef, parseAppRef } from '../refs';

/** What every command gets: the config, a client of the API and the output. */
export class CommandContext {
  readonly config: CliConfig = loadCliConfig();
  readonly client = new ApiClient(this.config);
  readonly out: Output;

  constructor(json: boolean) {
    this.out = new Output(json);
  }

  ref(text: string): AppRef {
    return parseAppRef(text, this.config.org);
  }
}
