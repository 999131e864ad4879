import { z } from 'zod';
import { ConfigError, parseConfig } from './config';
import { port, redisUrl } from './env-schemas';

const schema = z.object({ PORT: port(8080), REDIS_URL: redisUrl });

describe('parseConfig', () => {
  it('applies defaults', () => {
    expect(parseConfig(schema, {})).toEqual({ PORT: 8080, REDIS_URL: 'redis://127.0.0.1:6379' });
  });

  it('names every bad variable', () => {
    let caught: unknown;
    try {
      parseConfig(schema, { PORT: 'eighty', REDIS_URL: 'http://x' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const variables = (caught as ConfigError).problems.map((p) => p.variable);
    expect(variables).toEqual(['PORT', 'REDIS_URL']);
    expect((caught as ConfigError).message).toMatch(/REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL/);
  });
});
