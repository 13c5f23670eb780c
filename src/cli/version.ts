// `restorectl --version` (on every command) and `restorectl version`: the product's version from
// its package.json, which sits two folders up both from src/cli and from dist/cli.
import { readFileSync } from 'node:fs';

let cached: string | undefined;

/** The version of the restore-controller package, or `unknown` when its package.json cannot be read. */
export function productVersion(): string {
  if (cached) return cached;
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name?: string; version?: string };
    cached = pkg.name === 'restore-controller' && pkg.version ? pkg.version : 'unknown';
  } catch {
    cached = 'unknown';
  }
  return cached;
}

/** `restorectl 0.1.0 (node v20.11.1, linux/x64)`. */
export function versionText(): string {
  return `restorectl ${productVersion()} (node ${process.version}, ${process.platform}/${process.arch})\n`;
}
