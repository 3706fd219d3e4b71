/**
 * The resnet-ts kernel for protocol tests: started from its kernelspec argv (with --expose-gc, so
 * tests can measure memory after a full collection) in notebooks/ and in fast mode, as a front end
 * would start it; plus the small readers of its messages that every protocol test uses.
 */
import * as path from 'node:path';
import { KernelClient, Message } from '../../tools/notebook-runner/kernel_client';
import { ROOT, buildDist } from './process';

const MAIN = path.join(ROOT, 'dist', 'tools', 'kernel', 'main.js');

/** Builds dist/ (the kernel runs from it) and starts a kernel; shut it down in afterAll. */
export async function startTestKernel(): Promise<KernelClient> {
  await buildDist();
  return KernelClient.start(
    {
      argv: [process.execPath, '--expose-gc', MAIN, '--config-path', '{connection_file}'],
      display_name: 'resnet-ts (test)',
    },
    { cwd: path.join(ROOT, 'notebooks'), env: { RESNET_TS_FAST: '1' } },
  );
}

/** The messages of one type. */
export const ofType = (ms: Message[], t: string): Message[] => ms.filter((m) => m.header.msg_type === t);

/** Text without ANSI colour codes (tracebacks are coloured). */
export const stripAnsi = (s: string): string => s.replace(/\x1b\[[0-9;]*m/g, ''); // eslint-disable-line no-control-regex
