// build.mjs — builds haven's web dashboard into OUTDIR:
//
//   node web/build.mjs OUTDIR
//
// OUTDIR gets index.html, app.js (src/main.js and its imports bundled by
// esbuild into one minified IIFE), app.css (Leaflet's stylesheet + ours) and
// countries.json (Natural Earth 1:50m country borders, TopoJSON, from npm
// world-atlas). `haven serve --web OUTDIR` serves index.html at `/` and the
// others at `/ui/{file}`. Everything the page needs is in OUTDIR: it fetches
// nothing from outside at run time (no tiles, fonts or CDN).
import { build } from 'esbuild';
import { mkdir, readFile, writeFile, copyFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

const out = process.argv[2];
if (!out) {
  console.error('usage: node web/build.mjs OUTDIR');
  process.exit(2);
}
const outDir = resolve(out);
await mkdir(outDir, { recursive: true });

const t0 = Date.now();
await build({
  entryPoints: [join(here, 'src', 'main.js')],
  bundle: true,
  format: 'iife',
  minify: true,
  target: ['chrome100', 'firefox100', 'safari15'],
  outfile: join(outDir, 'app.js'),
  legalComments: 'eof',
  logLevel: 'warning',
});

const leafletCss = await readFile(require.resolve('leaflet/dist/leaflet.css'), 'utf8');
const ourCss = await readFile(join(here, 'src', 'app.css'), 'utf8');
await writeFile(join(outDir, 'app.css'), leafletCss + '\n' + ourCss);

await copyFile(require.resolve('world-atlas/countries-50m.json'), join(outDir, 'countries.json'));
for (const f of ['index.html', 'favicon.svg']) await copyFile(join(here, 'src', f), join(outDir, f));

console.log(`web: built ${outDir} in ${Date.now() - t0} ms`);
