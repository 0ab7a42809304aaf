/**
 * Which subjects (calling services) may call which methods: keys are a full method
 * (`trellis.account.v1.AccountService/FreezeAccount`), a whole service
 * (`trellis.account.v1.AccountService/*`) or `*`; values list subjects, `*` meaning any
 * authenticated caller. The most specific key that exists decides; no key means deny.
 */
export type AuthorizationPolicy = Record<string, string[]>;

export function isAllowed(
  policy: AuthorizationPolicy,
  methodPath: string,
  subject: string,
): boolean {
  const method = methodPath.replace(/^\//, '');
  const service = method.slice(0, method.indexOf('/'));
  const rule = policy[method] ?? policy[`${service}/*`] ?? policy['*'];
  return rule !== undefined && (rule.includes('*') || rule.includes(subject));
}
