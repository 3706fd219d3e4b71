/**
 * Entry point of the `resnet-ts` Jupyter kernel (the kernelspec installed by
 * tools/setup-notebooks.js runs `node dist/tools/kernel/main.js --config-path {connection_file}`).
 */
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { ConnectionInfo, KernelServer } from './server';

function main(): void {
  const { values } = parseArgs({ options: { 'config-path': { type: 'string' } } });
  const file = values['config-path'];
  if (!file) {
    console.error('usage: node dist/tools/kernel/main.js --config-path CONNECTION_FILE');
    process.exit(2);
  }
  let conn: ConnectionInfo;
  try {
    conn = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    console.error(`resnet-ts kernel: cannot read the connection file ${file}: ${(e as Error).message}`);
    process.exit(2);
  }
  const server = new KernelServer(conn);
  server.start().then(
    () => {
      // Errors escaping a cell (a rejected promise nobody awaited) are reported, never fatal.
      process.on('unhandledRejection', (reason) => console.error('Unhandled promise rejection:', reason));
      process.on('uncaughtException', (err) => console.error('Uncaught exception:', err));
    },
    (e) => {
      console.error(`resnet-ts kernel: could not start: ${(e as Error).message}`);
      process.exit(1);
    },
  );
}

main();
