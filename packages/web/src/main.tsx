import './styles.ts';
import { MantineProvider, createTheme, type CSSVariablesResolver } from '@mantine/core';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode, startTransition } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router';
import { App } from './App.tsx';
import { ApiError } from './api/client.ts';
import { prefetchLanding } from './api/hooks.ts';
import { setUpI18n } from './i18n/i18n.ts';

setUpI18n();

// The gateway puts this response's CSP nonce here; Mantine's theme <style> element carries it.
const nonce = document.querySelector<HTMLMetaElement>('meta[name="csp-nonce"]')?.content ?? '';

// Shades that keep text at WCAG AA contrast (4.5:1): the darker primary under white labels, darker dimmed text.
const theme = createTheme({ primaryColor: 'blue', primaryShade: 8, defaultRadius: 'sm', fontFamily: 'system-ui, -apple-system, "Segoe UI", "Noto Sans KR", "Malgun Gothic", sans-serif' });
const contrast: CSSVariablesResolver = () => ({ variables: {}, light: { '--mantine-color-dimmed': 'var(--mantine-color-gray-7)' }, dark: {} });

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 2_000,
      // 4xx answers do not get better by asking again.
      retry: (count, error) => !(error instanceof ApiError && error.status >= 400 && error.status < 500) && count < 2,
    },
  },
});

prefetchLanding(queryClient, window.location.pathname);

const root = document.getElementById('root');
if (root) {
  const reactRoot = createRoot(root);
  // A transition renders in slices that yield to the browser between them: no long task on the first paint.
  startTransition(() =>
    reactRoot.render(
    <StrictMode>
      <MantineProvider theme={theme} cssVariablesResolver={contrast} getStyleNonce={() => nonce} defaultColorScheme="light">
        <QueryClientProvider client={queryClient}>
          <BrowserRouter basename="/console">
            <App />
          </BrowserRouter>
        </QueryClientProvider>
      </MantineProvider>
    </StrictMode>,
    ),
  );
}
