// Builds the dashboard (web/) into dist/web: one bundled script and stylesheet, served by every agent at /ui.
import { build } from 'esbuild'
import { copyFile, mkdir, rm } from 'node:fs/promises'

const out = new URL('../dist/web/', import.meta.url)
await rm(out, { recursive: true, force: true })
await mkdir(out, { recursive: true })
await build({
  entryPoints: {
    app: new URL('../web/src/main.tsx', import.meta.url).pathname,
    'sim-worker': new URL('../web/src/sim-worker.ts', import.meta.url).pathname,
  },
  outdir: new URL('assets/', out).pathname,
  // The simulator and the scenario language run in the page too: they are pure TypeScript and import
  // no Node built-in, so the bundle needs no stand-ins.
  bundle: true,
  minify: true,
  sourcemap: true,
  format: 'esm',
  target: ['es2022'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  logLevel: 'warning',
})
await copyFile(new URL('../web/index.html', import.meta.url), new URL('index.html', out))
