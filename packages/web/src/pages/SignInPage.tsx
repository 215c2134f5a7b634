import { Alert, Button, Center, Paper, PasswordInput, Stack, Text, Title } from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError, api, setCsrfToken } from '../api/client.ts';
import { keys } from '../api/hooks.ts';
import type { SessionView } from '../api/types.ts';
import { LanguageSwitch } from '../components/LanguageSwitch.tsx';

/**
 * Sign-in with an API token. The token goes to POST /session once and is then forgotten: the gateway keeps it
 * in an httpOnly cookie that no script of this page can read.
 */
export default function SignInPage() {
  const { t } = useTranslation();
  const client = useQueryClient();
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const input = form.elements.namedItem('token') as HTMLInputElement;
    const token = input.value.trim();
    if (!token) {
      setError(t('signIn.empty'));
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const session = await api<SessionView>('POST', '/session', { token });
      input.value = '';
      setCsrfToken(session.csrf_token);
      client.setQueryData(keys.session, session);
    } catch (caught) {
      setError(caught instanceof ApiError && (caught.status === 401 || caught.status === 400) ? t('signIn.invalid') : t('common.failed'));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Center mih="100vh" p="md" component="main">
      <Paper withBorder shadow="sm" p="xl" w={420} maw="100%">
        <form onSubmit={(event) => void submit(event)} autoComplete="off">
          <Stack>
            <Title order={1} size="h3">
              {t('signIn.title')}
            </Title>
            <Text size="sm" c="dimmed">
              {t('signIn.explain')}
            </Text>
            <PasswordInput name="token" label={t('signIn.token')} placeholder="aps_…" autoFocus required />
            {error && (
              <Alert color="red" role="alert">
                {error}
              </Alert>
            )}
            <Button type="submit" loading={busy}>
              {t('signIn.submit')}
            </Button>
            <LanguageSwitch />
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}
