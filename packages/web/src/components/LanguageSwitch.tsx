import { Button, Group } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { LANGUAGES, chooseLanguage } from '../i18n/i18n.ts';

/** Each language named in itself. Plain toggle buttons: a segmented control measures the page on every render. */
const NAMES = { en: 'English', ko: '한국어' } as const;

export function LanguageSwitch() {
  const { t, i18n } = useTranslation();
  return (
    <Group gap={4} role="group" aria-label={t('nav.language')} wrap="nowrap">
      {LANGUAGES.map((language) => (
        <Button
          key={language}
          size="compact-xs"
          variant={i18n.language === language ? 'filled' : 'default'}
          aria-pressed={i18n.language === language}
          lang={language}
          onClick={() => chooseLanguage(language)}
        >
          {NAMES[language]}
        </Button>
      ))}
    </Group>
  );
}
