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
  // The simulator (and the scenario-file reader) run in the page too: the Node built-ins and the plot
  // writer their modules import are replaced by stand-ins the page's code path never calls.
  plugins: [{
    name: 'node-stand-ins',
    setup(b) {
      const shim = new URL('../web/src/shims/node.cjs', import.meta.url).pathname
      b.onResolve({ filter: /^node:|\/sim-plot\.js$/ }, () => ({ path: shim }))
    },
  }],
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
