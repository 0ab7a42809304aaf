/**
 * The request fields whose edge limit differs from the gRPC kit's defaults (by field kind and name:
 * ids 128 characters, emails 320, bodies 1 MiB, other strings 4096, 1000 elements per repeated
 * field; libs/platform/grpc/README.md "Request bounds"). Keyed by full proto field name. The kit
 * refuses anything over a limit with INVALID_ARGUMENT before a handler runs; the services' own
 * validation still applies its narrower, semantic rules to what gets through.
 */
export const requestLimits: Readonly<
  Record<string, { maxLength?: number; maxCount?: number; maxKeyLength?: number }>
> = {
  // A campaign may name up to 10,000 contacts (start-campaign.command.ts).
  'trellis.notification.v1.ContactIds.ids': { maxCount: 10_000 },
  // SEND_EMAIL_MAX_RECIPIENTS may be configured up to 10,000.
  'trellis.notification.v1.SendEmailRequest.to': { maxCount: 10_000 },
  // Workers report stack traces; the job keeps the first 4096 characters.
  'trellis.job.v1.FailJobRequest.error_message': { maxLength: 65_536 },
};
