/**
 * Outgoing operations that must wait their turn. `send(blob)` has to read the Blob before it
 * can frame it; everything the application does after it — sends, pings, the Close, a
 * broadcast's frame — waits here and runs in call order once the Blob is out (as `ws`'s
 * Sender queues behind a Blob being read).
 */

interface BlobJob {
  blob: Blob;
  onRead(data: Buffer): void;
  onError(err: Error): void;
}

export class Outbox {
  private readonly items: Array<(() => void) | BlobJob> = [];
  private reading = false;

  /** Whether operations must queue here instead of running now. */
  get active(): boolean {
    return this.reading || this.items.length > 0;
  }

  push(action: () => void): void {
    this.items.push(action);
  }

  pushBlob(blob: Blob, onRead: (data: Buffer) => void, onError: (err: Error) => void): void {
    this.items.push({ blob, onRead, onError });
    if (!this.reading) this.run();
  }

  private run(): void {
    while (this.items.length > 0) {
      const item = this.items[0];
      if (typeof item === 'function') {
        this.items.shift();
        item();
        continue;
      }
      this.reading = true;
      item.blob.arrayBuffer().then(
        (ab) => this.done(() => item.onRead(Buffer.from(ab))),
        (err: Error) => this.done(() => item.onError(err)),
      );
      return;
    }
  }

  private done(report: () => void): void {
    this.items.shift();
    this.reading = false;
    report();
    this.run();
  }
}
