// Test runner loaded by VS Code's extension host (extensionTestsPath): runs the mocha suite
// bundled beside it and writes the results to results.json for the e2e driver to read.
import * as fs from 'node:fs';
import * as path from 'node:path';

interface RunConfig {
  mochaPath: string;
  resultsPath: string;
  suite: string;
  grep?: string;
}

export function run(): Promise<void> {
  const cfg = JSON.parse(fs.readFileSync(path.join(__dirname, 'config.json'), 'utf8')) as RunConfig;
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const Mocha = require(cfg.mochaPath);
  const mocha = new Mocha({
    ui: 'bdd',
    timeout: 180000,
    reporter: function Silent() {
      /* results.json instead */
    },
    grep: cfg.grep,
  });
  mocha.addFile(path.join(__dirname, cfg.suite));
  const results: Array<{ title: string; state: string; ms?: number; error?: string }> = [];
  const write = (done: boolean) => fs.writeFileSync(cfg.resultsPath, JSON.stringify({ done, results }, null, 1));
  return new Promise((resolve) => {
    const runner = mocha.run(() => {
      write(true);
      resolve();
    });
    runner.on('pass', (t: Mocha.Test) => {
      results.push({ title: t.fullTitle(), state: 'passed', ms: t.duration });
      write(false);
    });
    runner.on('fail', (t: Mocha.Test, err: { stack?: string } | undefined) => {
      results.push({ title: t.fullTitle(), state: 'failed', error: String(err?.stack ?? err).slice(0, 2000) });
      write(false);
    });
  });
}
