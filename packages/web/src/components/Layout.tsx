import { AppShell, Burger, Button, Group, NavLink, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useQueryClient } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { NavLink as RouterLink, useLocation } from 'react-router';
import { api, setCsrfToken } from '../api/client.ts';
import { keys } from '../api/hooks.ts';
import type { SessionView } from '../api/types.ts';
import { LanguageSwitch } from './LanguageSwitch.tsx';

export function Layout({ session, children }: { session: SessionView; children: ReactNode }) {
  const { t } = useTranslation();
  const [opened, { toggle }] = useDisclosure();
  const location = useLocation();
  const client = useQueryClient();
  const links = [
    { to: '/', label: t('nav.apps') },
    { to: '/deploy', label: t('nav.deploy') },
    ...(session.is_admin
      ? [
          { to: '/admin/clusters', label: t('nav.clusters') },
          { to: '/admin/projects', label: t('nav.projects') },
          { to: '/admin/tokens', label: t('nav.tokens') },
        ]
      : []),
  ];
  const signOut = async () => {
    await api('DELETE', '/session').catch(() => undefined);
    setCsrfToken(undefined);
    client.setQueryData(keys.session, null);
    client.clear();
  };
  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 220, breakpoint: 'sm', collapsed: { mobile: !opened } }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label={t('nav.menu')} />
            <Title order={1} size="h4">
              {t('app.title')}
            </Title>
          </Group>
          <Group gap="sm" wrap="nowrap">
            <Text size="sm" c="dimmed" visibleFrom="sm">
              {session.is_admin ? t('session.admin') : t('session.scoped', { count: session.project_ids.length })}
            </Text>
            <LanguageSwitch />
            <Button size="xs" variant="default" onClick={() => void signOut()}>
              {t('nav.signOut')}
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label={t('nav.main')}>
        {links.map((link) => (
          <NavLink
            key={link.to}
            component={RouterLink}
            to={link.to}
            label={link.label}
            active={link.to === '/' ? location.pathname === '/' || location.pathname.startsWith('/apps') : location.pathname.startsWith(link.to)}
          />
        ))}
      </AppShell.Navbar>
      <AppShell.Main>{children}</AppShell.Main>
    </AppShell>
  );
}
