jest.mock('uuid', () => require('./testing/uuid-v7'));

import { RunnerConfigSchema } from './config';
import { InvocationError } from './errors';
import { newExecutionId } from './execution-id';
import { PortAllocator } from './native/ports';
import { forwardedHeaders, parseInvokePath } from './server';

describe('parseInvokePath', () => {
  it('splits org, app and the program path with its query', () => {
    expect(parseInvokePath('/v1/invoke/acme/hello')).toEqual({ org: 'acme', app: 'hello', path: '/' });
    expect(parseInvokePath('/v1/invoke/acme/hello?x=1')).toEqual({ org: 'acme', app: 'hello', path: '/?x=1' });
    expect(parseInvokePath('/v1/invoke/acme/hello/a/b?x=1&y')).toEqual({ org: 'acme', app: 'hello', path: '/a/b?x=1&y' });
    expect(parseInvokePath('/v1/invoke/ac%2Dme/h%C3%A9')).toEqual({ org: 'ac-me', app: 'hé', path: '/' });
    expect(parseInvokePath('/v1/invoke/ac%20me/x')).toMatchObject({ code: 'validation_failed' });
  });

  it('refuses what is not org/app', () => {
    for (const url of ['/v1/invoke/', '/v1/invoke/acme', '/v1/invoke/acme/', '/v1/invoke//hello']) {
      expect(parseInvokePath(url)).toMatchObject({ code: 'not_found' });
    }
    expect(parseInvokePath('/v1/invoke/acme/%E0%A4%A')).toBeInstanceOf(InvocationError);
    expect(parseInvokePath('/v1/invoke/acme/a%2Fb')).toMatchObject({ code: 'validation_failed' });
  });
});

describe('forwardedHeaders', () => {
  it('drops connection-level and platform headers and sets the ids', () => {
    const raw = [
      'Host',
      'x',
      'Content-Type',
      'application/json',
      'Connection',
      'keep-alive',
      'X-Ignite-Execution-Id',
      'forged',
      'Content-Length',
      '2',
      'X-Mine',
      'v',
    ];
    expect(forwardedHeaders(raw, 'exec', 'org/app')).toEqual([
      'Content-Type',
      'application/json',
      'X-Mine',
      'v',
      'x-ignite-execution-id',
      'exec',
      'x-ignite-function-id',
      'org/app',
    ]);
  });
});

describe('newExecutionId', () => {
  it('makes distinct, increasing UUIDv7s', () => {
    const ids = Array.from({ length: 2000 }, () => newExecutionId());
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });
});

describe('PortAllocator', () => {
  it('hands out distinct pairs, reuses released ones and avoids conflicting ones', () => {
    const ports = new PortAllocator(30_000, 30_007);
    const taken = [ports.allocate(), ports.allocate(), ports.allocate(), ports.allocate()];
    expect(new Set(taken).size).toBe(4);
    for (const port of taken) expect([30_000, 30_002, 30_004, 30_006]).toContain(port);
    expect(() => ports.allocate()).toThrow(/no free instance port pair/);
    ports.release(taken[0]!);
    expect(ports.allocate()).toBe(taken[0]);
    ports.conflict(taken[1]!);
    expect(() => ports.allocate()).toThrow();
  });
});

describe('RunnerConfigSchema', () => {
  it('has defaults for everything and reads overrides', () => {
    const config = RunnerConfigSchema.parse({ RUNNER_ALLOW_UNAUTHENTICATED: 'true' });
    expect(config).toMatchObject({
      RUNNER_PORT: 8081,
      RUNNER_HOST: '127.0.0.1',
      IGNITE_DATA_DIR: '.data',
      IGNITE_QUEUE_PREFIX: 'ignite',
      RUNNER_INVOCATION_TIMEOUT_MS: 30_000,
      RUNNER_MEMORY_LIMIT_MB: 256,
      RUNNER_IDLE_TIMEOUT_MS: 300_000,
      RUNNER_QUEUE_WAIT_MS: 2_000,
      RUNNER_PRLIMIT_PATH: '/usr/bin/prlimit',
      RUNNER_STANDBY_SHELL: '/bin/dash',
    });
    expect(config.RUNNER_INTERNAL_TOKEN).toBeUndefined();
    expect(
      RunnerConfigSchema.parse({ RUNNER_INTERNAL_TOKEN: '', IGNITE_QUEUE_PREFIX: '', RUNNER_ALLOW_UNAUTHENTICATED: 'true' }),
    ).toMatchObject({
      RUNNER_INTERNAL_TOKEN: undefined,
      IGNITE_QUEUE_PREFIX: 'ignite',
    });
    expect(
      RunnerConfigSchema.parse({
        RUNNER_INTERNAL_TOKEN: 't',
        RUNNER_MAX_INSTANCES: '7',
        RUNNER_PRLIMIT_PATH: '',
        RUNNER_STANDBY_SHELL: '',
      }),
    ).toMatchObject({
      RUNNER_MAX_INSTANCES: 7,
      RUNNER_PRLIMIT_PATH: '',
      RUNNER_STANDBY_SHELL: '',
    });
    expect(RunnerConfigSchema.safeParse({ RUNNER_INTERNAL_TOKEN: 't', RUNNER_MAX_INSTANCES: '0' }).success).toBe(false);
    expect(RunnerConfigSchema.safeParse({ RUNNER_INSTANCE_PORT_MIN: '20000', RUNNER_INSTANCE_PORT_MAX: '20004' }).success).toBe(false);
  });

  it('refuses to start without the internal token unless told the network is trusted', () => {
    const refused = RunnerConfigSchema.safeParse({});
    expect(refused.success).toBe(false);
    expect(refused.error?.issues[0]).toMatchObject({
      path: ['RUNNER_INTERNAL_TOKEN'],
      message: expect.stringContaining('RUNNER_ALLOW_UNAUTHENTICATED'),
    });
    expect(RunnerConfigSchema.parse({ RUNNER_INTERNAL_TOKEN: 'secret' }).RUNNER_INTERNAL_TOKEN).toBe('secret');
  });
});
