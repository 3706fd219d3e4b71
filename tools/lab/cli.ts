/**
 * `npm run lab`: JupyterLab (3.6, from lab-app/) on the project's notebooks with the `resnet-ts`
 * kernel, for a machine without JupyterLab. Builds the front end first if needed.
 *
 *   npm run lab                          # http://127.0.0.1:8888/lab?token=...
 *   npm run lab -- --port 9000 --ip 0.0.0.0
 *   npm run lab -- --port 0              # any free port (retried if taken before the server binds it)
 *   npm run lab -- --build-only          # what the setup script runs
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, ensureLabBuilt, serverMissing, startLab } from './lab';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8888' },
      ip: { type: 'string', default: '127.0.0.1' },
      root: { type: 'string', default: path.join(ROOT, 'notebooks') },
      'build-only': { type: 'boolean', default: false },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`lab: --port must be 1..65535 (or 0: any free port), got ${values.port}`);
  const manifest = await ensureLabBuilt();
  console.log(`lab: JupyterLab ${manifest.jupyterlab} front end in lab-app/build`);
  if (values['build-only']) return;
  const missing = await serverMissing();
  if (missing) throw new Error(`lab: cannot serve: ${missing}`);
  const server = await startLab({
    root: path.resolve(values.root!),
    ip: values.ip,
    port: port === 0 ? undefined : port,
  });
  console.log(`lab: serving ${values.root} with the resnet-ts kernel; open\n\n    ${server.url}\n\nCtrl-C stops it.`);
  server.process.stdout!.pipe(process.stdout);
  server.process.stderr!.pipe(process.stderr);
  const stop = () => void server.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  server.process.on('exit', (code) => process.exit(code ?? 1));
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
