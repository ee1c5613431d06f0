#!/usr/bin/env node
// `npx koban …` resolves `node` through npm's PATH, which puts the pinned Node 24 first.
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  process.stderr.write(`koban needs Node.js 24 or newer (this is ${process.version}); run it through npx or npm run koban.\n`);
  process.exit(2);
}
const { runCli } = await import('../src/cli/main.ts');
process.exitCode = await runCli(process.argv.slice(2));
