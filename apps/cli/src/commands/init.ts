import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { UsageError } from '../refs';
import type { CommandContext } from './context';

type Run = (action: (ctx: CommandContext) => Promise<void>) => () => Promise<void>;

/** The contract's handler (sdk/ignite-rs/code_sources/rust-hello/src/lib.rs; a test keeps them the same). */
export const CONTRACT_HANDLER = `use ignite::prelude::*;
use serde_json::json;

#[ignite::main]
async fn handler(req: Request, ctx: Context) -> Result<impl IntoResponse> {
    let message: String = req
        .field("message")
        .unwrap_or_else(|_| "Hello from Rust!".to_string());
    Ok(json!({
        "message": message,
        "execution_id": ctx.execution_id(),
        "function_id": ctx.function_id(),
    }))
}
`;

/** A standalone project's manifest: `ignite = "*"` (the compile step puts the bundled SDK in its place). */
export function cargoToml(name: string): string {
  return [
    '[package]',
    `name = "${name}"`,
    'version = "0.1.0"',
    'edition = "2021"',
    '',
    '[dependencies]',
    '# The compile step swaps in the SDK it bundles, and adds serde, serde_json and tokio when absent.',
    'ignite = "*"',
    '',
  ].join('\n');
}

/** What `init` writes, by path. */
export function projectFiles(name: string): Record<string, string> {
  return { 'Cargo.toml': cargoToml(name), 'src/lib.rs': CONTRACT_HANDLER, '.gitignore': '/target\n' };
}

const NAME = /^[a-z][a-z0-9-]{0,62}$/;

export function registerInitCommand(program: Command, run: Run, example: (line: string) => string): void {
  program
    .command('init')
    .description("a new function's folder: Cargo.toml and the contract's handler in src/lib.rs")
    .argument('<name>', 'the function (and folder) name: lower-case letters, digits and -, starting with a letter')
    .addOption(
      new Option('--rust-target <target>', 'what it will compile to (said in the next steps)')
        .choices(['native', 'wasm'])
        .default('native'),
    )
    .option('--dir <path>', 'where to create it (default: ./NAME)')
    .addHelpText('after', example('init hello'))
    .action(function (this: Command, name: string) {
      const opts = this.opts<{ rustTarget: string; dir?: string }>();
      return run(async (ctx) => {
        if (!NAME.test(name)) {
          throw new UsageError(
            `"${name}" is not a function name: use lower-case letters, digits and -, starting with a letter (at most 63)`,
          );
        }
        const dir = resolve(opts.dir ?? name);
        if (existsSync(dir) && readdirSync(dir).length > 0) {
          throw new UsageError(`${dir} exists and is not empty; pick another name or --dir, nothing was written`);
        }
        const files = projectFiles(name);
        for (const [path, content] of Object.entries(files)) {
          mkdirSync(join(dir, path, '..'), { recursive: true });
          writeFileSync(join(dir, path), content, { flag: 'wx' });
        }
        const prefix = program.parent ? `${program.parent.name()} ${program.name()}` : program.name();
        const ref = `${ctx.config.org}:${name}`;
        const target = opts.rustTarget;
        ctx.out.result({ dir, files: Object.keys(files), rustTarget: target }, () =>
          [
            `created ${dir} (Cargo.toml, src/lib.rs)`,
            '',
            'next:',
            `  cd ${relative(process.cwd(), dir) || '.'}`,
            `  ${prefix} deploy ${ref} --yes${target === 'native' ? '' : ` --rust-target ${target}`}`,
            'or step by step:',
            `  ${prefix} app create ${name} --runtime rust --rust-target ${target}`,
            `  ${prefix} draft save ${ref} --code ./`,
            `  ${prefix} draft compile ${ref}`,
            `  ${prefix} draft publish ${ref}`,
            `  ${prefix} invoke ${ref} -p '{"message": "hi there"}'`,
          ].join('\n'),
        );
      })();
    });
}
