import {
  createLocalJWKSet,
  errors,
  importPKCS8,
  jwtVerify,
  SignJWT,
  type JSONWebKeySet,
  type JWTVerifyOptions,
  type JWTVerifyResult,
  type KeyLike,
} from 'jose';

export const TOKEN_ISSUER = 'trellis';
/** Upper bound on a service token's lifetime (docs/architecture.md: short-lived, ≤ 15 min). */
export const MAX_TOKEN_TTL_SECONDS = 15 * 60;
const ALGORITHM = 'ES256';

/**
 * Mints the calling service's tokens: ES256 JWTs with iss "trellis", sub = this service, aud = the
 * service called, a short expiry, and kid = sub so a verifier picks this service's public key.
 * Tokens are cached per audience until a minute before they expire.
 */
export class ServiceTokenSigner {
  private key: Promise<KeyLike>;
  private readonly cache = new Map<string, { token: string; refreshAt: number }>();

  constructor(
    readonly subject: string,
    privateKeyPem: string,
    private readonly ttlSeconds = 5 * 60,
  ) {
    if (ttlSeconds > MAX_TOKEN_TTL_SECONDS)
      throw new Error(`service tokens live at most ${MAX_TOKEN_TTL_SECONDS} s`);
    this.key = importPKCS8(privateKeyPem, ALGORITHM);
  }

  async token(audience: string): Promise<string> {
    const cached = this.cache.get(audience);
    if (cached && Date.now() < cached.refreshAt) return cached.token;
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: ALGORITHM, kid: this.subject, typ: 'JWT' })
      .setIssuer(TOKEN_ISSUER)
      .setSubject(this.subject)
      .setAudience(audience)
      .setIssuedAt(now)
      .setExpirationTime(now + this.ttlSeconds)
      .sign(await this.key);
    this.cache.set(audience, {
      token,
      refreshAt: (now + this.ttlSeconds - Math.min(60, this.ttlSeconds / 2)) * 1000,
    });
    return token;
  }
}

export class InvalidTokenError extends Error {
  override name = 'InvalidTokenError';
}

/**
 * Verifies tokens presented to `audience` against the trusted callers' public keys (a JWKS whose
 * `kid`s are service names). A token must be signed by the key of the service it names as `sub`.
 */
export class ServiceTokenVerifier {
  private readonly keys: ReturnType<typeof createLocalJWKSet>;

  constructor(
    readonly audience: string,
    jwks: JSONWebKeySet,
  ) {
    this.keys = createLocalJWKSet(jwks);
  }

  /** The verified subject (calling service), or InvalidTokenError with a reason safe to log. */
  async verify(token: string): Promise<string> {
    const options = {
      issuer: TOKEN_ISSUER,
      audience: this.audience,
      algorithms: [ALGORITHM],
      maxTokenAge: `${MAX_TOKEN_TTL_SECONDS}s`,
      requiredClaims: ['sub', 'exp', 'iat'],
    };
    try {
      let verified: JWTVerifyResult;
      try {
        verified = await jwtVerify(token, this.keys, options);
      } catch (err) {
        // During a key rotation a service has two keys under its kid: try each.
        if (!(err instanceof errors.JWKSMultipleMatchingKeys)) throw err;
        verified = await this.verifyWithAnyOf(token, err, options);
      }
      const { payload, protectedHeader } = verified;
      if (payload.sub !== protectedHeader.kid) {
        throw new InvalidTokenError('token subject does not match its signing key');
      }
      if (payload.exp! - payload.iat! > MAX_TOKEN_TTL_SECONDS) {
        throw new InvalidTokenError('token lifetime exceeds 15 minutes');
      }
      return payload.sub!;
    } catch (err) {
      if (err instanceof InvalidTokenError) throw err;
      const code = (err as { code?: string }).code ?? 'ERR_JWT_INVALID';
      throw new InvalidTokenError(code);
    }
  }

  private async verifyWithAnyOf(
    token: string,
    candidates: errors.JWKSMultipleMatchingKeys,
    options: JWTVerifyOptions,
  ): Promise<JWTVerifyResult> {
    let lastError: unknown = candidates;
    for await (const key of candidates) {
      try {
        return await jwtVerify(token, key, options);
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError;
  }
}
