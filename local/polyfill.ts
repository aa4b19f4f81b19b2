// aws-local-stepfunctions 3 uses Promise.withResolvers (Node 22); Node 20 lacks it.
if (typeof (Promise as unknown as { withResolvers?: unknown }).withResolvers !== 'function') {
  (Promise as unknown as { withResolvers: () => unknown }).withResolvers = function withResolvers<T>() {
    let resolve!: (v: T | PromiseLike<T>) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

// The handlers' Powertools Tracer loads the X-Ray SDK, whose default "automatic" mode installs an
// async_hooks hook with destroy tracking on every promise of the process: 10–15% of a simulation's CPU
// (issue 8 profile). There is no X-Ray daemon and no Lambda context locally, so tracing is off anyway;
// manual mode skips the hook. Set before any handler is imported (this file is the runtime's first import).
process.env.AWS_XRAY_MANUAL_MODE ??= '1';
export {};
