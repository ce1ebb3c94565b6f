// Bundles the CLI's program (dist/src/cli/program.js and what it imports) into dist/src/cli/bundle/, which
// the `grapevine` entry (cli.js) loads instead of ~200 separate modules: Node's ESM loader spends about
// 1–2 ms of CPU per module (open, read, resolve, URL handling, compile), a third of an agent's start-up.
//
//   dist/src/cli/program.js       ──esbuild (bundle, ESM, code splitting)──▶ dist/src/cli/bundle/program.js
//   dist/src/cli/agent-program.js                                           dist/src/cli/bundle/agent-program.js
//                                                                           + chunk-*.js: what both share, and one
//                                                                             per lazily imported part
//
// - Code splitting keeps every `await import('./x.js')` lazy: the simulator, the lab, the demo, the plots
//   and YAML scenarios load as their own chunks only with the command that uses them.
// - Packages stay external (resolved from node_modules as before; the optional ones still load through
//   importOptional at first use).
// - `import.meta.url` of every bundled module is rewritten to that module's own location under dist/, so
//   paths it resolves (the dashboard's files, package.json, the lab's worker, the demo's helpers) are the
//   same as unbundled. All output files lie in one directory, so one relative path per module holds.
// - `grapevine agent` runs agent-program.js (the agent command alone), everything else program.js.
// - cli.js uses a bundle only when it is at least as new as its program's module: after a bare `tsc` it runs the
//   fresh modules, never a stale bundle.
// esbuild is the bundler the dashboard's build already uses; nothing here is written by hand beyond the
// import.meta.url rewrite, which esbuild does not offer per module.
import { build } from 'esbuild'
import { readFile, rm } from 'node:fs/promises'
import { dirname, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const cliDir = fileURLToPath(new URL('../dist/src/cli/', import.meta.url))
const outdir = `${cliDir}bundle`

/** Every bundled dist/src module sees its own unbundled location as import.meta.url. */
const ownLocation = {
  name: 'own-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /[\\/]dist[\\/]src[\\/].*\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8')
      if (!text.includes('import.meta.url')) return { contents: text, loader: 'js' }
      const rel = relative(outdir, args.path).split('\\').join('/')
      return { contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(rel)}, import.meta.url).href`), loader: 'js', resolveDir: dirname(args.path) }
    })
  },
}

await rm(outdir, { recursive: true, force: true })
await build({
  entryPoints: [`${cliDir}program.js`, `${cliDir}agent-program.js`],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: ['node20'],
  packages: 'external',
  sourcemap: true,
  // Whitespace and syntax only (names stay, for stack traces and error names), and ASCII output: V8 keeps each
  // module's source text for lazy compilation, and one non-ASCII character (a comment's arrow) makes it two bytes
  // per character. Together the agent's chunks are held in a third of the memory and parsed faster.
  minifyWhitespace: true,
  minifySyntax: true,
  charset: 'ascii',
  legalComments: 'none',
  plugins: [ownLocation],
  logLevel: 'warning',
})
