import type { googleProtobuf } from '@trellis/contracts';

type Duration = googleProtobuf.Duration;

export function toDuration(ms: number): Duration {
  const whole = Math.floor(ms / 1000);
  return { seconds: BigInt(whole), nanos: Math.round((ms - whole * 1000) * 1_000_000) };
}

export function fromDuration(duration: Duration): number {
  return Number(duration.seconds) * 1000 + Math.round(duration.nanos / 1_000_000);
}
