import { Alert } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/client.ts';

/** What the API said when it refused a change (its message is shown as text). */
export function RefusedAlert({ error }: { error: unknown }) {
  const { t } = useTranslation();
  if (!error) return null;
  return (
    <Alert color="red" role="alert">
      {error instanceof ApiError ? t('common.refused', { message: error.message }) : t('common.failed')}
    </Alert>
  );
}
