// The filter between `restic dump` and the client. PostgreSQL's addon drops the line of a
// pg_dumpall that sets the `postgres` role's password (`sed '/ALTER ROLE postgres WITH SUPERUSER
// … PASSWORD/d'`): the restored server keeps the password its AppBinding's Secret holds, and
// later connections with it still work. Streaming: only the current line is held.
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';

/** The text sed matches (anywhere in a line) in Stash's postgres addon. */
export const POSTGRES_PASSWORD_LINE = 'ALTER ROLE postgres WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS PASSWORD';

/** Whether a line of the dump is dropped. */
export function dropsLine(line: string): boolean {
  return line.includes(POSTGRES_PASSWORD_LINE);
}

/** Longer partial lines than this are passed on without waiting for their end (data, never the ALTER ROLE line). */
const MAX_HELD = 64 * 1024;

/** A stream that removes the lines {@link dropsLine} matches, holding at most one line. */
export class DropLines extends Transform {
  #held = Buffer.alloc(0);
  /** The current line was too long to be the one dropped: it passes through to its end. */
  #passing = false;
  dropped = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    let buf = this.#held.length ? Buffer.concat([this.#held, chunk]) : chunk;
    this.#held = Buffer.alloc(0);
    const out: Buffer[] = [];
    for (;;) {
      const nl = buf.indexOf(10);
      if (nl < 0) break;
      const line = buf.subarray(0, nl + 1);
      if (this.#passing || !dropsLine(line.toString('utf8'))) out.push(line);
      else this.dropped++;
      this.#passing = false;
      buf = buf.subarray(nl + 1);
    }
    if (buf.length > MAX_HELD || (this.#passing && buf.length)) {
      out.push(buf);
      this.#passing = true;
    } else this.#held = Buffer.from(buf);
    if (out.length) this.push(Buffer.concat(out));
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.#held.length && (this.#passing || !dropsLine(this.#held.toString('utf8')))) this.push(this.#held);
    done();
  }
}
