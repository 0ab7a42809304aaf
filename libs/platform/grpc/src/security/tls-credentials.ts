import {
  credentials,
  experimental,
  type ChannelCredentials,
  type ServerCredentials,
} from '@grpc/grpc-js';

export interface TlsFiles {
  /** CA bundle that signs peers' certificates (clients' for a server, the server's for a client). */
  caFile: string;
  /** This process's certificate chain and key; optional for a client without mTLS. */
  certFile?: string;
  keyFile?: string;
}

const REFRESH_MS = 60_000;

function provider(files: {
  certificateFile?: string;
  privateKeyFile?: string;
  caCertificateFile?: string;
}) {
  return new experimental.FileWatcherCertificateProvider({
    ...files,
    refreshIntervalMs: REFRESH_MS,
  });
}

/**
 * Server TLS whose certificate, key and CA are re-read from their files every minute, so rotated
 * certificates take effect without a restart. With `requireClientCert`, clients must present a
 * certificate the CA signed (mTLS).
 */
export function serverTlsCredentials(
  files: Required<TlsFiles>,
  requireClientCert: boolean,
): ServerCredentials {
  return experimental.createCertificateProviderServerCredentials(
    provider({ certificateFile: files.certFile, privateKeyFile: files.keyFile }),
    provider({ caCertificateFile: files.caFile }),
    requireClientCert,
  );
}

/** Client TLS (mTLS when cert and key are given), reloaded from the files like the server's. */
export function channelTlsCredentials(files: TlsFiles): ChannelCredentials {
  const identity =
    files.certFile && files.keyFile
      ? provider({ certificateFile: files.certFile, privateKeyFile: files.keyFile })
      : null;
  return experimental.createCertificateProviderChannelCredentials(
    provider({ caCertificateFile: files.caFile }),
    identity,
  );
}

export const insecureChannelCredentials = (): ChannelCredentials => credentials.createInsecure();
