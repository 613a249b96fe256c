// One client connection: head -> handler -> body -> response -> next request, strictly in order.
// The socket is the only source of bytes; decoded body bytes go into a Readable whose backpressure
// pauses the socket, so a slow disk slows the client down instead of filling memory.
import { Readable } from 'node:stream'
import type { Socket } from 'node:net'
import { HttpError, shuttingDown, toHttpError } from '../errors.js'
import { DRAIN_MAX_BYTES, DRAIN_MAX_MS, SHUTDOWN_HEAD_GRACE_MS } from '../limits.js'
import { clientAddress } from './address.js'
import type { BodyDecoder } from './body-decoder.js'
import { ChunkedDecoder } from './chunked-decoder.js'
import { declaresBody, interpretHead, type Framing } from './framing.js'
import { HeadParser, type HeadLimits } from './head-parser.js'
import { header, type RequestHead } from './head.js'
import { CONTINUE_100, httpDate, serializeHead, statusHasBody } from './response.js'
import { LengthDecoder } from './length-decoder.js'
import { noteBytesRead } from './reclaim.js'

export interface Request {
  readonly method: string
  readonly path: string
  readonly query: string
  readonly remoteAddress: string
  readonly framing: Framing
  /** The request carried Content-Length or Transfer-Encoding (even `Content-Length: 0`). */
  readonly declaresBody: boolean
  /** Decoded body bytes. Reading it is what tells an `Expect: 100-continue` client to send them. */
  readonly body: Readable
  /** The client waits for `100 Continue` before sending the body (so refusing now saves it the upload). */
  readonly expectContinue: boolean
  header(name: string): string | undefined
  /** Calls `cb` once the client's connection is gone (at once if it is); returns the way to stop waiting. */
  onGone(cb: () => void): () => void
}

export interface Response {
  /** Sends the whole response once; later calls are ignored. */
  send(status: number, headers: Record<string, string>, body?: string | Buffer): void
  readonly sent: boolean
}

export type Handler = (req: Request, res: Response) => Promise<void>

type Send = Response['send']

/**
 * A class, not an object literal: a literal with a getter is a dictionary-mode object whose getter
 * sits in an AccessorPair that V8 allocates in the old generation. Pointing at this request's
 * closure, that old object kept each request's objects alive through young-generation GCs until a
 * full GC found it dead (W2 promoted a fifth of all it allocated; issue #7).
 */
class Reply implements Response {
  constructor(
    private readonly isSent: () => boolean,
    private readonly deliver: Send,
  ) {}

  send(status: number, headers: Record<string, string>, payload?: string | Buffer): void {
    if (!this.isSent()) this.deliver(status, headers, payload)
  }

  get sent(): boolean {
    return this.isSent()
  }
}
export type ErrorRenderer = (
  err: HttpError,
  head: RequestHead | null,
) => { headers: Record<string, string>; body: string | Buffer }

export interface ConnectionOptions {
  handler: Handler
  renderError: ErrorRenderer
  limits: HeadLimits
  /** Head deadline and body inactivity limit. */
  timeoutMs: number
  /** Idle time allowed between requests on a kept-alive connection. */
  keepAliveIdleMs: number
  bodyHighWaterMark: number
}

const enum State {
  /** Waiting for (more of) a request head. */
  Head,
  /** Reading the body of the current request. */
  Body,
  /** Body complete, waiting for the handler's response; later bytes are held back. */
  Wait,
  /** Answered early with `Connection: close`: swallowing the rest, bounded, then closing. */
  Drain,
  Closed,
}

export class Connection {
  private state = State.Head
  private readonly parser: HeadParser
  private decoder: BodyDecoder | null = null
  private body: Readable | null = null
  private head: RequestHead | null = null
  private keepAlive = false
  private expectContinue = false
  /** The `100 Continue` went out, or never will (the answer came first: releaseHeld()). */
  private continueSent = false
  private responded = false
  private shutdownAt = 0
  /** The request handler in progress, if any (settles, never rejects). */
  private handling: Promise<void> | null = null
  private bodyPaused = false
  private peerEnded = false
  /** The client's address, as the user knows it (address.ts). */
  private readonly peer: string
  private shuttingDown = false
  private served = 0
  private leftover: Buffer | null = null
  private drained = 0
  private phaseStart = Date.now()
  /** The first byte of this phase's head (once headBegun). */
  private headStart = 0
  private headBegun = false
  private lastActivity = Date.now()
  private timer: NodeJS.Timeout | null = null
  /** When the armed timer fires (Infinity: none armed). */
  private timerDue = Infinity
  /** Numbers requests, so a late answer from an earlier request's handler can never be sent. */
  private requestId = 0
  private gone = false
  private goneWatchers: Set<() => void> | null = null
  private readonly keepAliveHint: string | null

  constructor(
    private readonly socket: Socket,
    private readonly opts: ConnectionOptions,
    private readonly onClose: (c: Connection) => void,
  ) {
    this.parser = new HeadParser(opts.limits)
    // How long the connection waits for the next request: a client that knows (undici, fetch)
    // does not send one on a socket we are just closing. In whole seconds, so not under one.
    this.keepAliveHint = opts.keepAliveIdleMs >= 1000 ? `timeout=${Math.floor(opts.keepAliveIdleMs / 1000)}` : null
    // Now: a socket that has gone no longer knows its peer.
    this.peer = clientAddress(socket.remoteAddress)
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('end', () => this.onEnd())
    socket.on('error', () => this.onSocketGone())
    socket.on('close', () => this.onSocketGone())
    this.schedule()
  }

  /** Idle between requests (or never sent one): safe to close without losing anything. */
  get idle(): boolean {
    return this.state === State.Head && !this.parser.started && this.leftover === null
  }

  /** Graceful stop: finish the request in hand, then close; idle connections close now. */
  shutdown(): void {
    this.shuttingDown = true
    this.shutdownAt = Date.now()
    // Idle: no request in hand and nothing unread from the client. With our last answer out of
    // our buffer too, closing at once loses nothing (and a client that neither reads nor closes,
    // a connection pool, does not hold the exit for the linger); otherwise end() and linger.
    if (this.idle) {
      if (this.socket.writableLength === 0) this.close()
      else this.finish()
    }
    // A head still arriving gets a moment to complete (and be told 503), not the whole --timeout.
    else if (this.state === State.Head) this.schedule()
  }

  /** A request is in hand (its head is complete): what a graceful stop waits for. */
  get inRequest(): boolean {
    return this.state === State.Body || this.state === State.Wait
  }

  /** Hard stop: the body in flight fails, so whatever consumes it cleans up; resolves once the handler is done. */
  abort(): Promise<void> {
    this.failBody(shuttingDown())
    this.close()
    return this.handling ?? Promise.resolve()
  }

  private onData(chunk: Buffer): void {
    this.lastActivity = Date.now()
    noteBytesRead(chunk.length)
    switch (this.state) {
      case State.Drain:
        this.drained += chunk.length
        if (this.drained > DRAIN_MAX_BYTES) this.close()
        return
      case State.Wait:
        this.hold(chunk, 0)
        return
      case State.Closed:
        return
      default:
        // Bytes behind pipelined ones that wait for their turn (nextRequest) wait behind them.
        if (this.leftover !== null) return this.hold(chunk, 0)
        // Once per phase: the empty lines a head may start with (RFC 9112 §2.2) leave the parser
        // unstarted, and restarting the clock on each would let `\n`, `\r`, `\n`... hold the
        // connection forever.
        if (this.state === State.Head && !this.headBegun) {
          this.headBegun = true
          this.headStart = this.lastActivity
        }
        this.process(chunk, 0)
    }
  }

  private process(buf: Buffer, pos: number): void {
    while (pos < buf.length) {
      if (this.state === State.Head) {
        let result
        try {
          result = this.parser.push(buf, pos)
        } catch (err) {
          this.protocolError(toHttpError(err), this.parser.partial())
          return
        }
        if (result === null) return
        pos = result.end
        this.startRequest(result.head)
      } else if (this.state === State.Body) {
        // Body bytes sent ahead of the 100 the client asked for wait until the handler reads,
        // which is its acceptance (onBodyRead): fed to the body now, they would make the stream
        // ask for more at once, and that would send `100 Continue` before a 413 or 401.
        if (this.expectContinue && !this.continueSent) return this.hold(buf, pos)
        try {
          pos = this.decoder!.push(buf, pos)
        } catch (err) {
          this.failBody(toHttpError(err))
          return
        }
        if (this.decoder!.done) this.endBody()
      } else if (this.state === State.Wait) {
        this.hold(buf, pos)
        return
      } else {
        return
      }
    }
  }

  /** Bytes of the next pipelined request wait until the current response is out. */
  private hold(buf: Buffer, pos: number): void {
    const rest = pos === 0 ? buf : buf.subarray(pos)
    this.leftover = this.leftover ? Buffer.concat([this.leftover, rest]) : rest
    this.socket.pause()
  }

  private startRequest(head: RequestHead): void {
    this.head = head
    this.requestId++
    this.responded = false
    this.continueSent = false
    this.bodyPaused = false
    let framing: Framing
    try {
      const semantics = interpretHead(head)
      framing = semantics.framing
      this.keepAlive = semantics.keepAlive
      this.expectContinue = semantics.expectContinue
    } catch (err) {
      this.protocolError(toHttpError(err), head)
      return
    }
    if (this.shuttingDown) {
      this.protocolError(shuttingDown(), head)
      return
    }
    const body = new Readable({
      highWaterMark: this.opts.bodyHighWaterMark,
      read: () => this.onBodyRead(),
    })
    // The body is destroyed with an error when the client goes away or the request is answered
    // early; a handler that never read it has no listener, and an unhandled 'error' would crash
    // the whole server. Readers still get the error through their own listeners (and `errored`).
    body.on('error', () => {})
    this.body = body
    if (framing.kind === 'none') {
      body.push(null)
      this.state = State.Wait
    } else {
      const onPayload = (slice: Buffer) => {
        if (!body.push(slice)) this.pauseForBody()
      }
      this.decoder =
        framing.kind === 'length' ? new LengthDecoder(framing.length, onPayload) : new ChunkedDecoder(onPayload)
      this.state = State.Body
    }
    this.schedule()
    const req: Request = {
      method: head.method,
      path: head.path,
      query: head.query,
      remoteAddress: this.peer,
      framing,
      declaresBody: declaresBody(head),
      body,
      expectContinue: this.expectContinue,
      header: (name) => header(head, name),
      onGone: (cb) => this.onGone(cb),
    }
    const id = this.requestId
    const res = new Reply(
      () => id !== this.requestId || this.responded || this.state === State.Closed,
      (status, headers, payload) => this.answer(status, headers, payload),
    )
    this.runHandler(req, res, head)
  }

  private runHandler(req: Request, res: Response, head: RequestHead): void {
    const fail = (err: unknown) => {
      if (res.sent) return
      this.respondError(toHttpError(err), head)
    }
    const handling = Promise.resolve()
      .then(() => this.opts.handler(req, res))
      // The Error only when it is needed: capturing its stack costs more than the rest of this.
      .then(() => {
        if (!res.sent) fail(new Error('handler returned without answering'))
      }, fail)
      // Never rejects: onSocketGone and the listener's stop wait on it. Only answering the failure
      // can throw here (a bug of ours): the request then has no answer, so the client is cut off
      // rather than left waiting, and the bug is said on stderr, not swallowed.
      .catch((err: unknown) => {
        this.socket.destroy()
        process.emitWarning(`could not answer a request: ${(err as Error)?.stack ?? String(err)}`)
      })
      .finally(() => {
        if (this.handling === handling) this.handling = null
      })
    this.handling = handling
  }

  private onBodyRead(): void {
    if (this.expectContinue && !this.continueSent && !this.responded && this.state === State.Body) {
      // RFC 9110 §10.1.1: the handler reading the body is its acceptance of the request.
      this.continueSent = true
      this.socket.write(CONTINUE_100)
      if (this.leftover !== null) {
        // Pushed from a later tick, not from inside the stream's own read().
        const requestId = this.requestId
        process.nextTick(() => this.feedHeld(requestId))
        return
      }
    }
    if (this.bodyPaused) {
      this.bodyPaused = false
      this.lastActivity = Date.now()
      if (this.state === State.Body) this.socket.resume()
    }
  }

  /** The body bytes that came before `100 Continue` (process()), now that the handler reads. */
  private feedHeld(requestId: number): void {
    const rest = this.leftover
    if (requestId !== this.requestId || this.state !== State.Body || rest === null) return
    this.leftover = null
    this.bodyPaused = false
    this.process(rest, 0)
    if (this.state !== State.Body || this.leftover !== null) return
    // The client may have sent it all and half-closed meanwhile (onEnd waited for this).
    if (this.peerEnded) this.failBody(this.cutShort())
    else if (!this.bodyPaused) this.socket.resume()
  }

  private pauseForBody(): void {
    if (this.bodyPaused) return
    this.bodyPaused = true
    this.socket.pause()
  }

  private endBody(): void {
    this.body!.push(null)
    this.decoder = null
    this.state = State.Wait
    this.schedule()
  }

  /** The body cannot complete: whoever reads it gets `err` (and decides the answer). */
  private failBody(err: HttpError): void {
    if (this.state !== State.Body) return
    this.decoder = null
    this.state = State.Wait
    this.keepAlive = false
    this.body!.destroy(err)
    this.socket.pause()
    this.schedule()
  }

  /** An error found before a handler ran: answer it and close, the framing is not to be trusted. */
  private protocolError(err: HttpError, head: RequestHead | null): void {
    this.head = head
    this.requestId++
    this.responded = false
    this.keepAlive = false
    this.state = State.Wait
    this.respondError(err, head)
  }

  /**
   * The answer is decided, so no `100 Continue` will go out: body bytes held for it (process())
   * are read like any body the answer came before, and a short one that is all here leaves the
   * connection open for what the client pipelined behind it.
   */
  private releaseHeld(): void {
    if (this.state !== State.Body || !this.expectContinue || this.continueSent) return
    this.continueSent = true
    const held = this.leftover
    if (held === null) return
    this.leftover = null
    this.process(held, 0)
  }

  private respondError(err: HttpError, head: RequestHead | null): void {
    this.releaseHeld()
    const { headers, body } = this.opts.renderError(err, head)
    this.respond(err.status, { ...err.headers, ...headers }, body)
  }

  /**
   * A handler's answer. A body whose framing broke before it went out (a GET's chunked body, which
   * no handler reads) makes the answer that 400 (SPEC §3), not the handler's success.
   */
  private answer(status: number, headers: Record<string, string>, payload?: string | Buffer): void {
    this.releaseHeld()
    const broken = this.body?.errored
    if (status < 400 && broken instanceof HttpError && broken.status === 400) return this.respondError(broken, this.head)
    this.respond(status, headers, payload)
  }

  private respond(status: number, headers: Record<string, string>, payload?: string | Buffer): void {
    if (this.responded || this.state === State.Closed || this.socket.destroyed) return
    this.responded = true
    const bodyUnread = this.state === State.Body
    // A client that half-closed still gets answers to the requests it sent in full (pipelined).
    // So does one that pipelined behind this request when a graceful stop began: its next request
    // is told 503 (SPEC §3), not cut off unanswered; with nothing behind, this answer says close.
    // A request without framing that meant to send a body (a POST or PUT: the 411, or the 401
    // checked before it; any method with a `Content_Length`, as a CGI-style proxy would read it):
    // what follows on the connection is most likely that body, not a request.
    const unframed = this.head !== null && !declaresBody(this.head) && meantBody(this.head)
    const close =
      bodyUnread || unframed || !this.keepAlive || ((this.shuttingDown || this.peerEnded) && !requestBehind(this.leftover))
    const all: Record<string, string> = { Date: httpDate(), ...headers }
    const data = payload === undefined ? Buffer.alloc(0) : typeof payload === 'string' ? Buffer.from(payload) : payload
    if (statusHasBody(status)) all['Content-Length'] = String(data.length)
    if (close) all['Connection'] = 'close'
    else {
      if (this.head?.versionMinor === 0) all['Connection'] = 'keep-alive'
      // Stopping, the connection stays only for the 503 of what is pipelined behind: no promise of idle time.
      if (this.keepAliveHint !== null && !this.shuttingDown) all['Keep-Alive'] = this.keepAliveHint
    }
    const headOnly = this.head?.method === 'HEAD' || !statusHasBody(status)
    // One buffer, one write: head and body leave in the same segment without cork/uncork.
    const headText = serializeHead(status, all)
    const bodyLength = headOnly ? 0 : data.length
    const out = Buffer.allocUnsafe(headText.length + bodyLength)
    out.write(headText, 0, 'latin1')
    if (bodyLength > 0) data.copy(out, headText.length)
    this.socket.write(out)
    this.served++

    if (bodyUnread) {
      this.startDrain()
    } else if (close) {
      this.finish()
    } else {
      this.nextRequest()
    }
  }

  /** RFC 9112 §9.6 lingering close: half-close, swallow what the client still sends, then go. */
  private startDrain(): void {
    const body = this.body!
    this.decoder = null
    this.state = State.Drain
    // Body bytes held for a 100 that never came (a refusal): drained with the rest.
    this.leftover = null
    if (!body.destroyed) body.destroy(new HttpError('BODY_INCOMPLETE', 'The request was answered before its body was read.'))
    this.phaseStart = Date.now()
    this.socket.end()
    this.socket.resume()
    this.schedule()
  }

  private nextRequest(): void {
    this.state = State.Head
    this.head = null
    this.body = null
    this.phaseStart = Date.now()
    this.headBegun = false
    this.schedule()
    if (this.leftover === null) {
      // The client half-closed behind this request: nothing more will come.
      if (this.peerEnded) this.finish()
      else this.socket.resume()
      return
    }
    // A pipelined request waits for a turn of the event loop, so one client's burst of small
    // uploads cannot hold every other client (and the timers) off; and, while the client leaves
    // its answers unread, for the socket to drain: answers queued in our memory would otherwise
    // grow with every request it sends (4,000 pipelined GETs: +100 MiB). Such a client is cut
    // off by the head timeout, which runs meanwhile.
    const go = () => {
      const rest = this.leftover
      if (this.state !== State.Head || rest === null) return
      this.leftover = null
      this.headBegun = true
      this.headStart = Date.now()
      this.process(rest, 0)
      // A half-close behind the pipelined bytes: what they hold in full is answered, a part is not.
      if (this.peerEnded && this.leftover === null) {
        if (this.state === State.Head) return this.parser.started ? this.close() : this.finish()
        if (this.state === State.Body) return this.failBody(this.cutShort())
      }
      // A stop began while these waited. Only empty lines (a CRLF some clients send after a
      // body) leave nothing to answer: close now, as shutdown() does for an idle connection. A
      // head that is still arriving gets shutdown()'s short grace, not the keep-alive timer.
      if (this.shuttingDown && this.idle) return this.finish()
      if (this.state === State.Head) this.schedule()
      if (this.state === State.Head || (this.state === State.Body && !this.bodyPaused)) this.socket.resume()
    }
    if (this.socket.writableNeedDrain) this.socket.once('drain', () => setImmediate(go))
    else setImmediate(go)
  }

  private finish(): void {
    this.state = State.Closed
    this.clearTimer()
    this.socket.end()
    // Read (and drop) what the client still sends, so its FIN can arrive and the socket close;
    // a paused socket that nobody reads is no work for the event loop, and a graceful stop
    // waiting for it would find the process gone (exit 0, no `closed` event, no summary).
    this.socket.resume()
    // A client that never reads its answer, or never stops sending, must not hold the slot forever.
    const linger = setTimeout(() => this.socket.destroy(), DRAIN_MAX_MS)
    this.socket.once('close', () => clearTimeout(linger))
  }

  private close(): void {
    if (this.state === State.Closed && this.socket.destroyed) return
    this.state = State.Closed
    this.clearTimer()
    this.socket.destroy()
  }

  /** The client ended its side in the middle of a body. A chunked one announced no length. */
  private cutShort(): HttpError {
    return new HttpError(
      'BODY_INCOMPLETE',
      this.decoder instanceof ChunkedDecoder ? 'The chunked request body ended before its last chunk.' : 'The request body is shorter than announced.',
    )
  }

  private onEnd(): void {
    this.peerEnded = true
    // RFC 9112 §9.6: a half-close does not cancel the request in hand; it does end a short body.
    if (this.state === State.Body) {
      // Bytes held for a 100 not yet sent may be the whole body: judged once fed (feedHeld).
      if (this.leftover === null) this.failBody(this.cutShort())
    } else if (this.state === State.Head && this.leftover === null) {
      if (this.parser.started) this.close()
      else this.finish()
    } else if (this.state === State.Drain) {
      this.close()
    }
  }

  private onGone(cb: () => void): () => void {
    if (this.gone) {
      cb()
      return () => {}
    }
    ;(this.goneWatchers ??= new Set()).add(cb)
    return () => this.goneWatchers?.delete(cb)
  }

  private onSocketGone(): void {
    if (this.gone) return
    this.gone = true
    const watchers = this.goneWatchers
    this.goneWatchers = null
    if (watchers) for (const cb of watchers) cb()
    if (this.state === State.Body) this.failBody(new HttpError('BODY_INCOMPLETE', 'The client went away.'))
    this.state = State.Closed
    this.clearTimer()
    if (!this.socket.destroyed) this.socket.destroy()
    if (this.body && !this.body.readableEnded && !this.body.destroyed) {
      this.body.destroy(new HttpError('BODY_INCOMPLETE', 'The client went away.'))
    }
    // Its handler may still be at work (publishing, reporting, removing a temp file): a graceful
    // stop that counted the connection gone now could end the process under it.
    const handling = this.handling
    if (handling) void handling.then(() => this.onClose(this))
    else this.onClose(this)
  }

  // One timer per connection. A state change moves the deadline; the timer is re-armed only when
  // the new deadline is earlier than the one it waits for (a later or absent one is found when it
  // fires, see onTimer). Per request that is usually no timer call at all, against three.
  private schedule(): void {
    const due = this.deadline()
    if (due === null) return
    if (this.timer !== null && this.timerDue <= due) return
    this.clearTimer()
    this.timerDue = due
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, due - Date.now()))
    this.timer.unref()
  }

  private headDeadline(): number {
    const due = this.headStart + this.opts.timeoutMs
    return this.shuttingDown ? Math.min(due, this.shutdownAt + SHUTDOWN_HEAD_GRACE_MS) : due
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.timerDue = Infinity
  }

  private deadline(): number | null {
    switch (this.state) {
      case State.Head:
        if (this.parser.started) return this.headDeadline()
        return this.phaseStart + (this.served > 0 ? this.opts.keepAliveIdleMs : this.opts.timeoutMs)
      case State.Body:
        return this.lastActivity + this.opts.timeoutMs
      case State.Drain:
        return this.phaseStart + DRAIN_MAX_MS
      default:
        return null
    }
  }

  private onTimer(): void {
    this.timer = null
    this.timerDue = Infinity
    const due = this.deadline()
    if (due === null) return
    if (this.state === State.Head && this.parser.started && this.headDeadline() > Date.now()) {
      this.schedule()
      return
    }
    if (Date.now() < due || (this.state === State.Body && this.bodyPaused)) {
      // Activity since the timer was set, or we are the ones holding the client back.
      if (this.state === State.Body && this.bodyPaused) this.lastActivity = Date.now()
      this.schedule()
      return
    }
    const timeout = this.shuttingDown && this.state === State.Head
      ? shuttingDown()
      : new HttpError('TIMEOUT', 'The client was silent for too long.')
    if (this.state === State.Head) {
      if (this.parser.started) this.protocolError(timeout, this.parser.partial())
      else this.close()
    } else if (this.state === State.Body) {
      this.failBody(timeout)
    } else {
      this.close()
    }
  }
}

/** Held bytes that can be a request: not just the empty lines some clients send after a body. */
function requestBehind(held: Buffer | null): boolean {
  if (held === null) return false
  for (const byte of held) if (byte !== 0x0d && byte !== 0x0a) return true
  return false
}

/** POST and PUT carry a body; any request may name its framing in a field a proxy could rewrite. */
function meantBody(head: RequestHead): boolean {
  if (head.method === 'POST' || head.method === 'PUT') return true
  for (const [name] of head.headers) {
    if (!name.includes('_')) continue
    const read = name.replace(/_/g, '-')
    if (read === 'content-length' || read === 'transfer-encoding') return true
  }
  return false
}
