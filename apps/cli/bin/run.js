// Starts the CLI on Node 24. `npx dodil` runs this file with whatever `node` the shell has; when
// that is older than 24 (the machines ship Node 20), re-run on the project's provisioned Node 24.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, readdirSync } = require('node:fs');
const path = require('node:path');

module.exports = function run(commandName) {
  const major = Number(process.versions.node.split('.')[0]);
  const entry = path.join(__dirname, '..', 'dist', 'main.js');
  if (!existsSync(entry)) {
    process.stderr.write(`${commandName}: the CLI is not built yet; run \`npm start\` or \`npx tsc -b\` in the repository first\n`);
    process.exit(1);
  }
  if (major >= 24) {
    require(entry).main(commandName, process.argv.slice(2));
    return;
  }
  const tools = path.join(__dirname, '..', '..', '..', '.tools');
  const nodeDir = existsSync(tools) ? readdirSync(tools).find((name) => /^node-24\./.test(name)) : undefined;
  if (!nodeDir) {
    process.stderr.write(`${commandName}: needs Node 24 (this is Node ${process.versions.node}); run \`npm start\` once to provision it\n`);
    process.exit(1);
  }
  const result = spawnSync(
    path.join(tools, nodeDir, 'bin', 'node'),
    [__filename.replace(/run\.js$/, `${commandName}.js`), ...process.argv.slice(2)],
    {
      stdio: 'inherit',
    },
  );
  process.exit(result.status === null ? 1 : result.status);
};
