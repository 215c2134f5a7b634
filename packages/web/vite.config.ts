import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The console is served by the gateway under /console/ (services/gateway/src/routes/web.routes.ts).
export default defineConfig({
  base: '/console/',
  plugins: [react()],
  build: {
    target: 'es2022',
    // No inline script or style may reach the page (the gateway's Content-Security-Policy forbids them).
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 400,
  },
});
