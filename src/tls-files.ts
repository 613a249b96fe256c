// --tls-cert / --tls-key: read and checked before anything listens, each failure one line (exit 1).
import { X509Certificate, createPrivateKey } from 'node:crypto'
import { createReadStream } from 'node:fs'
import fs from 'node:fs/promises'
import { StartupError } from './errors.js'

// A certificate chain or a key is a few KiB. Unbounded, `--tls-key /dev/zero` (or a pipe that
// never ends) grew the process to 24 GB before anything was said.
const MAX_PEM_BYTES = 1024 * 1024

export interface TlsFiles {
  cert: Buffer
  key: Buffer
  /** The certificate is out of its validity period: it loads, but every browser will refuse it. */
  warning: string | null
}

export async function readTls(certFile: string, keyFile: string): Promise<TlsFiles> {
  const cert = await readPem('--tls-cert', certFile)
  const key = await readPem('--tls-key', keyFile)
  // Checked here, one flag at a time: a bad key otherwise surfaces from the listener as an
  // OpenSSL "DECODER routines::unsupported" internal error instead of a startup line.
  let x509: X509Certificate
  try {
    x509 = new X509Certificate(cert)
  } catch {
    throw new StartupError(`--tls-cert ${certFile}: not a PEM certificate.`)
  }
  let privateKey
  try {
    privateKey = createPrivateKey(key)
  } catch {
    throw new StartupError(`--tls-key ${keyFile}: not a PEM private key (or it is encrypted).`)
  }
  const pair = `--tls-cert ${certFile} / --tls-key ${keyFile}`
  // OpenSSL keeps one certificate and key per algorithm and compares a key only with the
  // certificate of its own kind: an RSA key with an EC certificate passed createSecureContext and
  // then failed every handshake, with nothing said. The first certificate of a chain is the one
  // the key must belong to.
  if (!x509.checkPrivateKey(privateKey)) {
    throw new StartupError(
      `${pair}: unusable pair (key/certificate mismatch: the key does not belong to the certificate${chained(cert) ? '; a chain file must start with the server\'s own certificate' : ''}).`,
    )
  }
  try {
    const tls = await import('node:tls')
    tls.createSecureContext({ cert, key })
  } catch (err) {
    throw new StartupError(`${pair}: unusable pair (${(err as Error).message}).`)
  }
  return { cert, key, warning: validity(certFile, x509, Date.now()) }
}

function validity(certFile: string, x509: X509Certificate, now: number): string | null {
  const day = (t: number) => new Date(t).toISOString().slice(0, 10)
  const to = Date.parse(x509.validTo)
  const from = Date.parse(x509.validFrom)
  if (to < now) return `--tls-cert ${certFile} expired on ${day(to)}: browsers and phones will refuse the connection; make a new one.`
  if (from > now) return `--tls-cert ${certFile} is not valid before ${day(from)} (is this machine's clock right?): browsers and phones will refuse the connection.`
  return null
}

function chained(pem: Buffer): boolean {
  const marker = '-----BEGIN CERTIFICATE-----'
  const first = pem.indexOf(marker)
  return first !== -1 && pem.indexOf(marker, first + 1) !== -1
}

async function readPem(flag: string, file: string): Promise<Buffer> {
  const unreadable = (err: unknown) => {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EISDIR') return new StartupError(`${flag} ${file} is a folder, not a PEM file; give the file in it.`)
    return new StartupError(`${flag} ${file}: cannot read it (${code ?? 'error'}); check the path and that you may read the file.`)
  }
  let st
  try {
    st = await fs.stat(file)
  } catch (err) {
    throw unreadable(err)
  }
  // A pipe is fine (`--tls-key <(pass show key)`); a device is not a file anyone means.
  if (st.isCharacterDevice() || st.isBlockDevice()) throw new StartupError(`${flag} ${file}: a device, not a PEM file.`)
  const tooLarge = () => new StartupError(`${flag} ${file}: too large for a PEM file (over ${MAX_PEM_BYTES / 1024 / 1024} MiB).`)
  if (st.size > MAX_PEM_BYTES) throw tooLarge()
  const chunks: Buffer[] = []
  let bytes = 0
  try {
    for await (const chunk of createReadStream(file)) {
      bytes += (chunk as Buffer).length
      // Counted as read: a pipe has no size to check first, and a file may grow.
      if (bytes > MAX_PEM_BYTES) throw tooLarge()
      chunks.push(chunk as Buffer)
    }
  } catch (err) {
    throw err instanceof StartupError ? err : unreadable(err)
  }
  return Buffer.concat(chunks)
}
