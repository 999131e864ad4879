import { NavLink, Outlet } from 'react-router';
import { ErrorNotice, Loading } from '../../components/states';
import { useAppDetail, useAppName } from './use-app';

const tabs: [string, string][] = [
  ['', 'Overview'],
  ['invocations', 'Invocations'],
  ['logs', 'Logs'],
  ['figures', 'Figures'],
  ['invoke', 'Invoke'],
];

/** An app's pages: its name and state on top, a tab per view below. */
export function AppLayout() {
  const name = useAppName();
  const detail = useAppDetail();
  return (
    <>
      <div className="page-head">
        <h1>{name}</h1>
        {detail.isSuccess ? (
          <p className="facts">
            <span className="pill">{detail.data.app.rustTarget}</span>
            <span>
              {detail.data.app.activeReleaseNumber === null
                ? 'no active release'
                : `release #${detail.data.app.activeReleaseNumber} active`}
            </span>
            <span>{detail.data.app.auth === 'public' ? 'public (no key needed)' : 'invoked with an API key'}</span>
          </p>
        ) : null}
      </div>
      <nav className="tabs" aria-label={`${name} views`}>
        {tabs.map(([path, label]) => (
          <NavLink key={label} to={path === '' ? `/apps/${name}` : `/apps/${name}/${path}`} end={path === ''}>
            {label}
          </NavLink>
        ))}
      </nav>
      {detail.isPending ? <Loading what="the app" /> : null}
      {detail.isError ? <ErrorNotice error={detail.error} title="Cannot show the app" /> : null}
      {detail.isSuccess ? <Outlet /> : null}
    </>
  );
}
