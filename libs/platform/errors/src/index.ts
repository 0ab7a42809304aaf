export * from './domain-error';
export * from './request-checks';
export * from './idempotency';
export * from './page-token';
