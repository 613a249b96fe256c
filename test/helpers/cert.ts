// A throw-away TLS certificate made at test time (no openssl needed: CI has only Node and npm).
// Self-signed for 127.0.0.1 and localhost, so it doubles as its own CA for `--cacert` and `ca:`.
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import selfsigned from 'selfsigned'

export interface TestCert {
  /** PEM certificate (also the CA to trust). */
  cert: string
  /** PEM private key. */
  key: string
  certFile: string
  keyFile: string
}

/**
 * Generates an EC P-256 pair (fast) and writes `cert.pem` / `key.pem` into `dir`, valid from a
 * minute ago for a day unless `validity` says otherwise (`prefix` names the files then).
 */
export async function makeTestCert(dir: string, validity: { from?: Date; to?: Date; prefix?: string } = {}): Promise<TestCert> {
  const pems = await selfsigned.generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: validity.from ?? new Date(Date.now() - 60_000),
    notAfterDate: validity.to ?? new Date(Date.now() + 24 * 3600_000),
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 7, ip: '127.0.0.1' },
          { type: 2, value: 'localhost' },
        ],
      },
    ],
  })
  const certFile = path.join(dir, `${validity.prefix ?? ''}cert.pem`)
  const keyFile = path.join(dir, `${validity.prefix ?? ''}key.pem`)
  writeFileSync(certFile, pems.cert)
  writeFileSync(keyFile, pems.private, { mode: 0o600 })
  return { cert: pems.cert, key: pems.private, certFile, keyFile }
}
