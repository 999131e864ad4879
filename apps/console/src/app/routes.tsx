import { lazy, Suspense } from 'react';
import { Navigate, Route, Routes, useLocation } from 'react-router';
import { Loading } from '../components/states';
import { AppLayout } from '../pages/app/app-layout';
import { BuildPage } from '../pages/app/build-page';
import { InvocationPage } from '../pages/app/invocation-page';
import { InvocationsPage } from '../pages/app/invocations-page';
import { InvokePage } from '../pages/app/invoke-page';
import { LogsPage } from '../pages/app/logs-page';
import { OverviewPage } from '../pages/app/overview-page';
import { AppsPage } from '../pages/apps-page';
import { NotFoundPage } from '../pages/not-found-page';
import { SignInPage } from '../pages/sign-in-page';
import { useSessionState } from '../session/session';
import { ConsoleLayout } from './console-layout';

// The charts (Recharts, most of the bundle) load when the figures are first opened.
const FiguresPage = lazy(() => import('../pages/app/figures-page').then((module) => ({ default: module.FiguresPage })));

/** Every page of the console; all but sign-in need a session. */
export function ConsoleRoutes() {
  const { session } = useSessionState();
  const location = useLocation();
  if (!session) {
    return (
      <Routes>
        <Route path="/sign-in" element={<SignInPage />} />
        <Route path="*" element={<Navigate to="/sign-in" replace state={{ from: location.pathname + location.search }} />} />
      </Routes>
    );
  }
  return (
    <Routes>
      <Route element={<ConsoleLayout />}>
        <Route index element={<AppsPage />} />
        <Route path="sign-in" element={<Navigate to="/" replace />} />
        <Route path="apps/:app" element={<AppLayout />}>
          <Route index element={<OverviewPage />} />
          <Route path="builds/:buildId" element={<BuildPage />} />
          <Route path="invocations" element={<InvocationsPage />} />
          <Route path="invocations/:executionId" element={<InvocationPage />} />
          <Route path="logs" element={<LogsPage />} />
          <Route
            path="figures"
            element={
              <Suspense fallback={<Loading what="the charts" />}>
                <FiguresPage />
              </Suspense>
            }
          />
          <Route path="invoke" element={<InvokePage />} />
        </Route>
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
