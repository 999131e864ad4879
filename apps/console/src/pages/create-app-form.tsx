import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useNavigate } from 'react-router';
import { dataOf } from '../api/client';
import { ErrorNotice } from '../components/states';
import { useSession } from '../session/session';
import { parseEnvLines } from './env-lines';

function optionalInteger(text: string): number | undefined {
  return text.trim() === '' ? undefined : Number(text.trim());
}

/** A new app: its name, target, limits and environment (the API checks each and says what is wrong). */
export function CreateAppForm() {
  const { api, org } = useSession();
  const queries = useQueryClient();
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const [target, setTarget] = useState<'native' | 'wasm'>('native');
  const [timeoutMs, setTimeoutMs] = useState('');
  const [memoryMb, setMemoryMb] = useState('');
  const [envText, setEnvText] = useState('');
  const [problem, setProblem] = useState<string>();

  const create = useMutation({
    mutationFn: (env: Record<string, string>) =>
      dataOf(
        api.POST('/v1/orgs/{org}/apps', {
          params: { path: { org } },
          body: {
            name,
            runtime: 'rust',
            rustTarget: target,
            auth: 'key',
            env,
            timeoutMs: optionalInteger(timeoutMs),
            memoryMb: optionalInteger(memoryMb),
          },
        }),
      ),
    onSuccess: async (created) => {
      await queries.invalidateQueries({ queryKey: ['apps', org] });
      navigate(`/apps/${created.app.name}`);
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const parsed = parseEnvLines(envText);
    if ('problem' in parsed) {
      setProblem(parsed.problem);
      return;
    }
    for (const [label, text] of [
      ['Time limit', timeoutMs],
      ['Memory', memoryMb],
    ] as const) {
      if (text.trim() !== '' && !/^\d+$/.test(text.trim())) {
        setProblem(`${label} must be a whole number (or empty for the runner's default), not “${text}”.`);
        return;
      }
    }
    setProblem(undefined);
    create.mutate(parsed.env);
  };

  return (
    <details className="card create-app">
      <summary>New app</summary>
      <form onSubmit={submit} className="form-grid">
        <label htmlFor="app-name">Name</label>
        <input id="app-name" value={name} onChange={(event) => setName(event.target.value)} placeholder="hello" required />
        <label htmlFor="app-target">Target</label>
        <select id="app-target" value={target} onChange={(event) => setTarget(event.target.value as 'native' | 'wasm')}>
          <option value="native">native (Linux binary)</option>
          <option value="wasm">wasm (wasm32-wasip2 component)</option>
        </select>
        <label htmlFor="app-timeout">Time limit (ms)</label>
        <input
          id="app-timeout"
          inputMode="numeric"
          value={timeoutMs}
          onChange={(event) => setTimeoutMs(event.target.value)}
          placeholder="runner default"
        />
        <label htmlFor="app-memory">Memory (MiB)</label>
        <input
          id="app-memory"
          inputMode="numeric"
          value={memoryMb}
          onChange={(event) => setMemoryMb(event.target.value)}
          placeholder="runner default"
        />
        <label htmlFor="app-env">Environment</label>
        <textarea
          id="app-env"
          rows={3}
          value={envText}
          onChange={(event) => setEnvText(event.target.value)}
          placeholder={'GREETING=hello\nLOG_LEVEL=debug'}
        />
        <div className="form-actions">
          {problem ? <ErrorNotice error={new Error(problem)} /> : null}
          {create.isError ? <ErrorNotice error={create.error} title="Not created" /> : null}
          <button type="submit" className="primary" disabled={create.isPending}>
            {create.isPending ? 'Creating…' : 'Create app'}
          </button>
        </div>
      </form>
    </details>
  );
}
