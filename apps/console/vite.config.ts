import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The API serves the built files at /console (apps/api/src/console); every request the page makes
// goes to the same origin, so the build must not reference anything outside it.
export default defineConfig({
  base: '/console/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 1024 },
});
