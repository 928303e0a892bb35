import process from 'node:process';

/** What an adapter does with a broker error when the application gave no `onError`. */
export function warnOnce(what: string): (err: Error) => void {
  let warned = false;
  return (err: Error) => {
    // One warning per adapter, not one per publish: a broker that is down fails every call.
    if (warned) return;
    warned = true;
    process.emitWarning(`hyperwire ${what}: ${err?.message ?? String(err)} (further errors are not reported; pass onError to see them)`);
  };
}
