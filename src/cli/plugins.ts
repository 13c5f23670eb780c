// Plugins, as kubectl and git have them: `restorectl foo …` for a command restorectl does not know
// runs an executable `restorectl-foo` with the remaining arguments, the same stdio (or the Io's
// callbacks, for an in-process caller) and passes its exit status back. The dev kit
// (packages/devkit) provides `restorectl-sandbox` and `restorectl-demo` this way, so the product
// never imports it.
//
// Where a plugin is looked for, first match wins:
//   1. `node_modules/.bin` in the working directory and each of its parents (as npx does),
//   2. `node_modules/.bin` beside this program's package and in its parents (restorectl installed
//      as a dependency: the project's own bins),
//   3. each folder of PATH.
import { spawn } from 'node:child_process';
import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Io } from './command.ts';

export const PLUGIN_PREFIX = 'restorectl-';
/** A plugin name is one word: letters, digits and dashes. */
const PLUGIN_NAME = /^[a-z0-9][a-z0-9-]*$/;

export interface PluginSearch {
  cwd?: string;
  /** PATH, default process.env.PATH. */
  path?: string;
  /** Where this program is; default the folder of this module. */
  programDir?: string;
}

export interface Plugin {
  /** The command name (`sandbox` for `restorectl-sandbox`). */
  name: string;
  file: string;
}

function ancestors(dir: string): string[] {
  const out: string[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    out.push(d);
    if (dirname(d) === d) return out;
  }
}

/** The folders searched, in order, without duplicates. */
export function pluginDirs(search: PluginSearch = {}): string[] {
  const programDir = search.programDir ?? dirname(fileURLToPath(import.meta.url));
  const dirs = [
    ...ancestors(search.cwd ?? process.cwd()).map((d) => join(d, 'node_modules', '.bin')),
    ...ancestors(programDir).map((d) => join(d, 'node_modules', '.bin')),
    ...(search.path ?? process.env['PATH'] ?? '')
      .split(delimiter)
      .filter(Boolean)
      .map((d) => resolve(d)),
  ];
  return [...new Set(dirs)];
}

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The executable for `restorectl <name>`, or undefined when there is none. */
export function findPlugin(name: string, search: PluginSearch = {}): string | undefined {
  if (!PLUGIN_NAME.test(name)) return undefined;
  for (const dir of pluginDirs(search)) {
    const file = join(dir, PLUGIN_PREFIX + name);
    if (isExecutableFile(file)) return file;
  }
  return undefined;
}

/** Every plugin found, by name (the first of each name, as findPlugin would pick), sorted. */
export function listPlugins(search: PluginSearch = {}): Plugin[] {
  const found = new Map<string, string>();
  for (const dir of pluginDirs(search)) {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (!entry.startsWith(PLUGIN_PREFIX)) continue;
      const name = entry.slice(PLUGIN_PREFIX.length);
      if (!PLUGIN_NAME.test(name) || found.has(name)) continue;
      const file = join(dir, entry);
      if (isExecutableFile(file)) found.set(name, file);
    }
  }
  return [...found].map(([name, file]) => ({ name, file })).sort((a, b) => a.name.localeCompare(b.name));
}

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/**
 * Runs a plugin to its end and returns its exit status (128 + n when a signal ended it).
 * With `io.inheritStdio` the plugin gets this process's stdin, stdout and stderr; otherwise its
 * output goes to the Io's callbacks. SIGINT, SIGTERM and SIGHUP sent to restorectl are passed on
 * (a Ctrl-C in a terminal reaches both, so plugins take a repeated signal calmly), and the plugin
 * gets an IPC channel that closes when restorectl dies, so a Node plugin can stop with it.
 */
export function runPlugin(file: string, args: string[], io: Io): Promise<number> {
  return new Promise((done) => {
    // Listening before the plugin starts: a signal sent once it is up (it may print that it is
    // before this process runs on) is passed on, never this process's default death.
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    for (const s of FORWARDED) process.on(s, forward);
    const child = spawn(file, args, {
      stdio: io.inheritStdio ? ['inherit', 'inherit', 'inherit', 'ipc'] : ['inherit', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, RESTORECTL_PLUGIN: '1' },
    });
    child.stdout?.on('data', (d: Buffer) => io.stdout(d.toString()));
    child.stderr?.on('data', (d: Buffer) => io.stderr(d.toString()));
    const finish = (code: number) => {
      for (const s of FORWARDED) process.off(s, forward);
      done(code);
    };
    child.on('error', (e) => {
      io.stderr(`restorectl: cannot run the plugin ${file}: ${e.message}\n`);
      finish(2);
    });
    child.on('close', (code, signal) => finish(code ?? 128 + (signal ? (SIGNAL_NUMBERS[signal] ?? 1) : 1)));
  });
}
