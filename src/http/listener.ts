// The listening socket: accepts connections (plain or TLS), enforces the connection cap, and
// stops gracefully or at once.
import net from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { AddressInfo } from 'node:net'
import { HttpError } from '../errors.js'
import { clientAddress } from './address.js'
import { Connection, type ConnectionOptions } from './connection.js'
import { DRAIN_MAX_MS } from '../limits.js'
import { httpDate, serializeHead } from './response.js'
import { hostPort } from '../urls.js'

export interface ListenerOptions extends ConnectionOptions {
  host: string
  port: number
  maxConnections: number
  tls?: { cert: Buffer; key: Buffer } | undefined
  /**
   * A TLS client turned the certificate down (a phone's first visit to a self-signed one), with
   * the alert it sent: `UNKNOWN_CA`, `CERTIFICATE_EXPIRED`...
   */
  onCertificateRefused?: (client: string, alert: string) => void
}

// The alerts a client sends when it does not trust or accept our certificate.
const CERTIFICATE_ALERT =
  /^ERR_SSL_(?:SSLV3|TLSV1)_ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|UNSUPPORTED_CERTIFICATE)$/

export interface Listener {
  readonly address: AddressInfo
  /** Connections with a request in hand (its head complete): what a graceful stop waits for. */
  readonly busy: number
  /** Stop accepting, close idle connections, let requests in hand finish. Resolves when all are closed. */
  stop(): Promise<void>
  /** Destroy every connection now; request bodies in flight fail. Resolves once their handlers are done. */
  abort(): Promise<void>
}

export async function createListener(opts: ListenerOptions): Promise<Listener> {
  const connections = new Set<Connection>()
  let stopping = false
  let allClosed: (() => void) | null = null

  const accept = (socket: net.Socket) => {
    socket.on('error', () => {})
    if (connections.size >= opts.maxConnections || stopping) {
      refuse(socket, opts)
      return
    }
    const conn = new Connection(socket, opts, (c) => {
      connections.delete(c)
      if (stopping && connections.size === 0) allClosed?.()
    })
    connections.add(conn)
  }

  // allowHalfOpen: a client's FIN does not cancel its request (RFC 9112 §9.6); we end our side.
  // handshakeTimeout: a TLS client is only a Connection (with its timers) once its handshake is
  // done; one that never finishes it would otherwise be held for Node's default of 120 s.
  // node:tls is loaded only for --tls-cert: it alone adds about 2 MiB to the resident size.
  const server = opts.tls
    ? (await import('node:tls')).createServer(
        { cert: opts.tls.cert, key: opts.tls.key, allowHalfOpen: true, handshakeTimeout: opts.timeoutMs },
        accept,
      )
    : net.createServer({ allowHalfOpen: true }, accept)
  // A failed or timed-out handshake only reports here: the socket stays open unless we close it.
  // A plain HTTP request (a browser given http://, curl without the s) is one OpenSSL recognises:
  // it is told, in plain HTTP on the socket under the TLS layer, where to go instead of getting an
  // empty reply.
  if (opts.tls) {
    server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => {
      const raw = (socket as TLSSocket & { _parent?: net.Socket })._parent
      const alert = CERTIFICATE_ALERT.exec(err.code ?? '')
      if (alert && raw?.remoteAddress) opts.onCertificateRefused?.(clientAddress(raw.remoteAddress), alert[1]!)
      if (err.code !== 'ERR_SSL_HTTP_REQUEST' || !raw || raw.destroyed) return void socket.destroy()
      const host = clientAddress(raw.localAddress)
      const url = `https://${hostPort(host, String(raw.localPort))}/`
      // The address is as this end sees it: behind a port forward the client's differs, so the
      // scheme is what the message leads with.
      refuse(raw, opts, new HttpError('BAD_REQUEST', `This receiver speaks HTTPS: use https:// instead of http:// (here: ${url}).`))
    })
  }
  // Before its handshake a TLS client is no Connection yet, so the cap does not see it: sockets
  // that never finish the handshake would pile up, each held until handshakeTimeout. Twice the
  // cap leaves room for those over it to finish and be told 503; past that nothing can be
  // answered (no handshake, no HTTP), so the socket is dropped at once.
  if (opts.tls) {
    let sockets = 0
    server.on('connection', (raw: net.Socket) => {
      if (sockets >= 2 * opts.maxConnections || stopping) return void raw.destroy()
      // Read now, while the socket is open: Node then keeps it. A client that refuses the
      // certificate closes at once, and asked afterwards the address was often gone.
      void raw.remoteAddress
      sockets++
      raw.once('close', () => sockets--)
    })
  }

  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host: opts.host, port: opts.port }, () => {
      server.off('error', reject)
      resolve({
        address: server.address() as AddressInfo,
        get busy() {
          let n = 0
          for (const c of connections) if (c.inRequest) n++
          return n
        },
        stop() {
          stopping = true
          server.close()
          const done = new Promise<void>((r) => {
            allClosed = r
          })
          for (const c of [...connections]) c.shutdown()
          if (connections.size === 0) return Promise.resolve()
          return done
        },
        abort() {
          stopping = true
          server.close()
          return Promise.all([...connections].map((c) => c.abort())).then(() => undefined)
        },
      })
    })
  })
}

/** An answer that needs no request parsing (over the cap: 503), then close. */
function refuse(socket: net.Socket, opts: ListenerOptions, err = new HttpError('UNAVAILABLE', 'Too many connections; try again shortly.')): void {
  const { headers, body } = opts.renderError(err, null)
  const data = Buffer.from(body)
  const head = serializeHead(err.status, {
    Date: httpDate(),
    ...headers,
    ...(err.status === 503 ? { 'Retry-After': '1' } : {}),
    'Content-Length': String(data.length),
    Connection: 'close',
  })
  socket.end(Buffer.concat([Buffer.from(head, 'latin1'), data]))
  socket.resume()
  setTimeout(() => socket.destroy(), DRAIN_MAX_MS).unref()
}
