import { Center, Loader } from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import { Suspense, lazy, useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { Navigate, Route, Routes } from 'react-router';
import { onSignedOut, setCsrfToken } from './api/client.ts';
import { keys, useSession } from './api/hooks.ts';
import { Layout } from './components/Layout.tsx';
import { AppsPage } from './pages/AppsPage.tsx';
import { SignInPage } from './pages/SignInPage.tsx';

// Pages past the first one load when opened: the first load stays small.
const AppPage = lazy(() => import('./pages/AppPage.tsx'));
const DeployPage = lazy(() => import('./pages/DeployPage.tsx'));
const ClustersPage = lazy(() => import('./pages/admin/ClustersPage.tsx'));
const ProjectsPage = lazy(() => import('./pages/admin/ProjectsPage.tsx'));
const TokensPage = lazy(() => import('./pages/admin/TokensPage.tsx'));

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
  if (!session.data) return <SignInPage />;
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
