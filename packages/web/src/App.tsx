import { Center, Loader } from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import { Suspense, lazy, useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { Navigate, Route, Routes } from 'react-router';
import { onSignedOut, setCsrfToken } from './api/client.ts';
import { keys, useSession } from './api/hooks.ts';
import { Layout } from './components/Layout.tsx';

// Pages past the first one load when opened: the first load stays small.
const pages = {
  apps: () => import('./pages/AppsPage.tsx'),
  signIn: () => import('./pages/SignInPage.tsx'),
  app: () => import('./pages/AppPage.tsx'),
  deploy: () => import('./pages/DeployPage.tsx'),
  clusters: () => import('./pages/admin/ClustersPage.tsx'),
  projects: () => import('./pages/admin/ProjectsPage.tsx'),
  tokens: () => import('./pages/admin/TokensPage.tsx'),
};
const AppsPage = lazy(pages.apps);
const SignInPage = lazy(pages.signIn);
const AppPage = lazy(pages.app);
const DeployPage = lazy(pages.deploy);
const ClustersPage = lazy(pages.clusters);
const ProjectsPage = lazy(pages.projects);
const TokensPage = lazy(pages.tokens);

// The page a link or a reload lands on starts loading with the console, not after the session check.
function landingPage(path: string): (() => Promise<unknown>) | undefined {
  if (path === '/console/' || path === '/console') return pages.apps;
  if (path.startsWith('/console/apps/')) return pages.app;
  if (path.startsWith('/console/deploy')) return pages.deploy;
  const admin = /^\/console\/admin\/(clusters|projects|tokens)/.exec(path)?.[1] as 'clusters' | 'projects' | 'tokens' | undefined;
  return admin ? pages[admin] : undefined;
}
void landingPage(window.location.pathname)?.();

export function App() {
  const { t } = useTranslation();
  const client = useQueryClient();
  const session = useSession();
  useEffect(() => setCsrfToken(session.data?.csrf_token), [session.data]);
  useEffect(() => onSignedOut(() => client.setQueryData(keys.session, undefined)), [client]);
  useEffect(() => {
    if (!session.data) client.removeQueries({ predicate: (query) => query.queryKey[0] !== 'session' });
  }, [session.data, client]);

  if (session.isPending) {
    return (
      <Center h="100vh">
        <Loader aria-label={t('common.loading')} />
      </Center>
    );
  }
  if (!session.data) {
    return (
      <Suspense fallback={null}>
        <SignInPage />
      </Suspense>
    );
  }
  const admin = session.data.is_admin;
  const loading = (
    <Center p="xl">
      <Loader aria-label={t('common.loading')} />
    </Center>
  );
  return (
    <Layout session={session.data}>
      <Suspense fallback={loading}>
        <Routes>
          <Route path="/" element={<AppsPage />} />
          <Route path="/apps/:id" element={<AppPage />} />
          <Route path="/deploy" element={<DeployPage />} />
          {admin && <Route path="/admin/clusters" element={<ClustersPage />} />}
          {admin && <Route path="/admin/projects" element={<ProjectsPage />} />}
          {admin && <Route path="/admin/tokens" element={<TokensPage />} />}
          <Route path="*" element={<Navigate to="/" replace />} />
        </Routes>
      </Suspense>
    </Layout>
  );
}
