import { useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { useParams } from 'react-router';
import { dataOf } from '../../api/client';
import { useSession } from '../../session/session';

/** The app of the route (`/apps/:app/…`), with its draft, latest build and active release. */
export function useAppName(): string {
  const { app } = useParams();
  if (!app) throw new Error('useAppName outside /apps/:app');
  return app;
}

export function useAppDetail() {
  const { api, org } = useSession();
  const app = useAppName();
  return useQuery({
    queryKey: ['app', org, app],
    queryFn: () => dataOf(api.GET('/v1/orgs/{org}/apps/{app}', { params: { path: { org, app } } })),
  });
}

/** The path parameters every app route takes. */
export function useAppPath(): { org: string; app: string } {
  const { org } = useSession();
  const app = useAppName();
  // The same object while org and app stay: effects that stream from the app depend on it.
  return useMemo(() => ({ org, app }), [org, app]);
}

/** The app's releases, newest first (one cache for every view that shows them). */
export function useReleases() {
  const { api } = useSession();
  const path = useAppPath();
  return useQuery({
    queryKey: ['releases', path.org, path.app],
    queryFn: () => dataOf(api.GET('/v1/orgs/{org}/apps/{app}/releases', { params: { path } })),
  });
}
