import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCliConfig } from './cli-config';

describe('loadCliConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ignite-cli-config-'));
  const path = join(dir, 'config.json');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('invokes on the data plane the platform wrote, and on the API when none is known', () => {
    writeFileSync(path, JSON.stringify({ url: 'http://127.0.0.1:8080/', org: 'acme', key: 'ign_x', invokeUrl: 'http://127.0.0.1:8082/' }));
    expect(loadCliConfig({ IGNITE_CLI_CONFIG: path })).toMatchObject({
      url: 'http://127.0.0.1:8080',
      invokeUrl: 'http://127.0.0.1:8082',
      org: 'acme',
    });
    expect(loadCliConfig({ IGNITE_CLI_CONFIG: path, IGNITE_INVOKE_URL: 'https://invoke.example.com' }).invokeUrl).toBe(
      'https://invoke.example.com',
    );
    // Another API named alone: its own invoke route (which forwards to its data plane), not this machine's data plane.
    expect(loadCliConfig({ IGNITE_CLI_CONFIG: path, IGNITE_API_URL: 'https://ignite.example.com' }).invokeUrl).toBe(
      'https://ignite.example.com',
    );
    writeFileSync(path, JSON.stringify({ url: 'http://127.0.0.1:8080', org: 'acme', key: 'ign_x' }));
    expect(loadCliConfig({ IGNITE_CLI_CONFIG: path }).invokeUrl).toBe('http://127.0.0.1:8080');
  });
});
