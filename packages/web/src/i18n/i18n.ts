import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import { en } from './en.ts';
import { ko } from './ko.ts';

export const LANGUAGES = ['en', 'ko'] as const;
export type Language = (typeof LANGUAGES)[number];
const STORAGE_KEY = 'appserving.language';

/** The language: the one chosen with the switch, else the browser's (Korean or English). */
export function initialLanguage(): Language {
  const stored = localStorage.getItem(STORAGE_KEY);
  if (stored === 'en' || stored === 'ko') return stored;
  return navigator.languages.some((l) => l.toLowerCase().startsWith('ko')) ? 'ko' : 'en';
}

export function chooseLanguage(language: Language): void {
  localStorage.setItem(STORAGE_KEY, language);
  void i18next.changeLanguage(language);
}

export function setUpI18n() {
  void i18next.use(initReactI18next).init({
    resources: { en: { translation: en }, ko: { translation: ko } },
    lng: initialLanguage(),
    fallbackLng: false,
    // React escapes what it renders: no HTML ever comes from a translation or a value.
    interpolation: { escapeValue: false },
    returnNull: false,
  });
  const sync = (language: string) => {
    document.documentElement.lang = language;
    document.title = i18next.t('app.title');
  };
  sync(i18next.language);
  i18next.on('languageChanged', sync);
  return i18next;
}
