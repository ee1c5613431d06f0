/**
 * The three web apps (wallet, till, console) are one Vite multi-page build, served by Koban itself
 * from dist/web (src/http/web.ts). `npm start` builds them when their sources changed.
 */
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, 'web');

export default defineConfig({
  root,
  base: '/',
  plugins: [react()],
  publicDir: path.join(root, 'public'),
  build: {
    outDir: process.env.KOBAN_WEB_DIST ?? path.resolve(import.meta.dirname, 'dist/web'),
    emptyOutDir: true,
    sourcemap: true,
    rollupOptions: {
      input: {
        wallet: path.join(root, 'wallet/index.html'),
        till: path.join(root, 'till/index.html'),
        console: path.join(root, 'console/index.html'),
        merchant: path.join(root, 'merchant/index.html'),
      },
    },
  },
});
