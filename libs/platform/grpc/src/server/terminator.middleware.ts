import type { CallContext, ServerMiddlewareCall } from 'nice-grpc';

/**
 * Lets shutdown end server-streaming calls (health Watch) that would otherwise keep the server
 * open forever: `terminate()` ends every open response stream cleanly.
 */
export function createTerminator() {
  const open = new Set<() => void>();
  let terminated = false;

  async function* terminatorMiddleware<Request, Response>(
    call: ServerMiddlewareCall<Request, Response>,
    context: CallContext,
  ) {
    if (!call.responseStream) return yield* call.next(call.request, context);
    const controller = new AbortController();
    const abortInner = () => controller.abort();
    context.signal.addEventListener('abort', abortInner);
    const end = () => controller.abort();
    open.add(end);
    if (terminated) end();
    try {
      const inner = call.next(call.request, { ...context, signal: controller.signal });
      for await (const response of inner) {
        yield response;
      }
      return;
    } catch (err) {
      if (controller.signal.aborted && !context.signal.aborted) return;
      throw err;
    } finally {
      open.delete(end);
      context.signal.removeEventListener('abort', abortInner);
    }
  }

  return {
    middleware: terminatorMiddleware,
    terminate(): void {
      terminated = true;
      for (const end of open) end();
    },
  };
}
