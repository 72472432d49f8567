/**
 * Bounded waits for tests. A test that waits on a child process or a stream without a deadline turns
 * a bug (or a race in the test) into a CI run that hangs until its global timeout and says nothing;
 * with these it fails in seconds and says what it was waiting for.
 */
import { deadline, isTimeoutError } from "../lib/util/async.ts";

/** Thrown when a bounded wait runs out; the message says what was awaited. */
export class DeadlineError extends Error {
  constructor(what: string, ms: number, detail = "") {
    super(`timed out after ${ms} ms waiting for ${what}${detail ? `; ${detail}` : ""}`);
  }
}

/**
 * Resolve like `promise`, or reject with a {@link DeadlineError} after `ms`; `onTimeout` runs first so a
 * caller can kill the process it was waiting on (the pending promise then settles on its own).
 */
export async function withDeadline<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
  onTimeout?: () => void,
): Promise<T> {
  try {
    return await deadline(promise, ms);
  } catch (e) {
    if (!isTimeoutError(e)) throw e;
    onTimeout?.();
    throw new DeadlineError(what, ms);
  }
}

/**
 * Read text from `reader` until `done(text)` holds or the stream ends; returns everything read. On a
 * timeout the reader is cancelled (so no read stays pending) and the error carries the tail of the text.
 */
export async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  done: (text: string) => boolean,
  what: string,
  ms = 20_000,
): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  const deadline = Date.now() + ms;
  while (!done(text)) {
    const left = deadline - Date.now();
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await withDeadline(reader.read(), Math.max(left, 0), what, () => {
        reader.cancel().catch(() => {});
      });
    } catch (e) {
      if (e instanceof DeadlineError) {
        throw new DeadlineError(what, ms, `read so far: ${JSON.stringify(text.slice(-600))}`);
      }
      throw e;
    }
    if (chunk.done) break;
    text += decoder.decode(chunk.value, { stream: true });
  }
  return text;
}
