import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinary, run } from './exec.js';

/**
 * A throwaway CA in `dir`, as Docker's TLS set-up uses: `ca.pem`; a server certificate for
 * 127.0.0.1 (`server-cert.pem`, `server-key.pem`); and a client certificate (`cert.pem`,
 * `key.pem`), the file names `DOCKER_CERT_PATH` and Diun's `tlsCertsPath` expect.
 */
export async function makeDockerTlsCerts(dir: string): Promise<void> {
  const openssl = requireBinary('openssl', 'openssl');
  const at = (name: string) => join(dir, name);
  const key = ['-newkey', 'rsa:2048', '-nodes'];
  await selfSignedCertificate(dir, 'diun-exporter test CA', [], {
    key: 'ca-key.pem',
    cert: 'ca.pem',
  });
  const sign = async (name: string, keyFile: string, certFile: string, ext: string) => {
    writeFileSync(at(`${name}.ext`), ext);
    await run(openssl, [
      'req',
      ...key,
      '-subj',
      `/CN=${name}`,
      '-keyout',
      at(keyFile),
      '-out',
      at(`${name}.csr`),
    ]);
    await run(openssl, [
      'x509',
      '-req',
      '-in',
      at(`${name}.csr`),
      '-CA',
      at('ca.pem'),
      '-CAkey',
      at('ca-key.pem'),
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      at(`${name}.ext`),
      '-out',
      at(certFile),
    ]);
  };
  await sign(
    'server',
    'server-key.pem',
    'server-cert.pem',
    'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n',
  );
  await sign('client', 'key.pem', 'cert.pem', 'extendedKeyUsage=clientAuth\n');
}

/**
 * A throwaway self-signed certificate for `cn`, with `altNames` (`IP:127.0.0.1`, `DNS:smtp`) as
 * its subjectAltName when there are any, made by `openssl` in `dir` as `key.pem` and `cert.pem`
 * unless `files` names them otherwise. Being self-signed, it is its own CA.
 */
export async function selfSignedCertificate(
  dir: string,
  cn: string,
  altNames: string[] = [],
  files: { key?: string; cert?: string } = {},
): Promise<{ keyFile: string; certFile: string }> {
  const openssl = requireBinary('openssl', 'openssl');
  const keyFile = join(dir, files.key ?? 'key.pem');
  const certFile = join(dir, files.cert ?? 'cert.pem');
  const san = altNames.length > 0 ? ['-addext', `subjectAltName=${altNames.join(',')}`] : [];
  await run(openssl, [
    ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2'],
    ...['-subj', `/CN=${cn}`, ...san],
    ...['-keyout', keyFile, '-out', certFile],
  ]);
  return { keyFile, certFile };
}

/**
 * A throwaway CA (`ca.pem`) and a server certificate it signs for `altNames`
 * (`DNS:registry.corp.lan`), as a registry behind a private CA has; made by `openssl` in `dir`.
 */
export async function privateCaCertificate(
  dir: string,
  altNames: string[],
): Promise<{ caFile: string; certFile: string; keyFile: string }> {
  const openssl = requireBinary('openssl', 'openssl');
  const at = (name: string) => join(dir, name);
  await selfSignedCertificate(dir, 'diun-exporter test private CA', [], {
    key: 'ca-key.pem',
    cert: 'ca.pem',
  });
  writeFileSync(
    at('server.ext'),
    `subjectAltName=${altNames.join(',')}\nextendedKeyUsage=serverAuth\n`,
  );
  await run(openssl, [
    ...['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=registry'],
    ...['-keyout', at('server-key.pem'), '-out', at('server.csr')],
  ]);
  await run(openssl, [
    ...['x509', '-req', '-in', at('server.csr'), '-CA', at('ca.pem'), '-CAkey', at('ca-key.pem')],
    ...[
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      at('server.ext'),
      '-out',
      at('server-cert.pem'),
    ],
  ]);
  return { caFile: at('ca.pem'), certFile: at('server-cert.pem'), keyFile: at('server-key.pem') };
}
