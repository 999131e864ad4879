// What builds need on this machine: a Rust toolchain (rustup's, on these machines) and
// bubblewrap, the build sandbox (installed from Debian when missing).
import { aptInstall, commandExists } from './exec.mts';
import { ProvisionError, say } from './log.mts';

export async function ensureBuildTools(): Promise<void> {
  if (!commandExists('cargo') || !commandExists('rustup')) {
    throw new ProvisionError(
      'No Rust toolchain: `cargo` and `rustup` are not on PATH. Builds need Rust (the platform targets 1.93 or later).',
      'install Rust with rustup, then run `rustup default stable`',
    );
  }
  if (!commandExists('bwrap')) {
    say('bubblewrap (the build sandbox) is not installed; installing it from Debian packages');
    if (!(await aptInstall(['bubblewrap']))) {
      throw new ProvisionError('bubblewrap is not installed and could not be installed.', 'apt-get install -y bubblewrap');
    }
  }
}
