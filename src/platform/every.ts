/** Runs `work` every interval, never two runs at once in one process; the timer does not keep Node alive. */
export function every(intervalMs: number, work: () => Promise<unknown>, onError: (error: unknown) => void): NodeJS.Timeout {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    work().catch(onError).finally(() => {
      running = false;
    });
  }, intervalMs);
  timer.unref();
  return timer;
}
