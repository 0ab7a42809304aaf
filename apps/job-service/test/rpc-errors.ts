import { BadRequest, ErrorInfo, RichClientError } from 'nice-grpc-error-details';

/** The error a call failed with (the test fails if it succeeded or failed otherwise). */
export async function rpcError(call: Promise<unknown>): Promise<RichClientError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RichClientError);
  return err as RichClientError;
}

export function reasonOf(err: RichClientError): string | undefined {
  return (err.extra.find((d) => d.$type === ErrorInfo.$type) as ErrorInfo | undefined)?.reason;
}

export function fieldsOf(err: RichClientError): string[] {
  const bad = err.extra.find((d) => d.$type === BadRequest.$type) as BadRequest | undefined;
  return bad?.fieldViolations.map((v) => v.field) ?? [];
}
