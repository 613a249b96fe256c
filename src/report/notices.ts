// Lines on stderr for refusals that are no upload (a 401, a refused TLS certificate): one per
// address and minute, and a bounded number a minute in all.

/** How long the refusals (401, a refused certificate) of one address stay at one line: a page reload or a script's retries are not a flood of lines. */
const NOTICE_QUIET_MS = 60_000
/** Beyond this many addresses seen within that time, a scan: the table is forgotten rather than grown. */
const NOTICE_ADDRESSES = 256
/** Lines of one kind a minute, whatever the addresses. */
const NOTICE_PER_MINUTE = 20

/** One line per address and minute for requests refused 401; never the secret, nor what was sent instead. */
export function unauthorizedNotice(say: (text: string) => void): (client: string, missing: 'token' | 'auth') => void {
  const limited = rateLimited(say, 'requests refused 401')
  return (client, missing) => {
    const what = missing === 'token' ? 'the right token' : 'the right user name and password'
    limited(client, `UNAUTHORIZED  request without ${what} refused (401)`)
  }
}

/** A browser's refusal of the certificate happens before any request: without this line the terminal says nothing. */
export function certificateNotice(say: (text: string) => void): (client: string, alert: string) => void {
  const limited = rateLimited(say, 'certificate refusals')
  return (client, alert) => {
    const why =
      alert === 'CERTIFICATE_EXPIRED'
        ? 'it says the certificate has expired'
        : alert === 'CERTIFICATE_REVOKED' || alert === 'UNSUPPORTED_CERTIFICATE'
          ? `its alert: ${alert.toLowerCase().replace(/_/g, ' ')}`
          : 'self-signed? accept it in the browser once, or trust it on the device'
    limited(client, `TLS  the client refused the certificate (${why})`)
  }
}

/**
 * One line per address and minute, and at most NOTICE_PER_MINUTE addresses a minute: a scan
 * from many addresses (an IPv6 client has a /64 of them) must not flood stderr, --quiet or not.
 */
function rateLimited(say: (text: string) => void, what: string): (client: string, text: string) => void {
  const lastSaid = new Map<string, number>()
  let windowStart = 0
  let inWindow = 0
  return (client, text) => {
    const now = Date.now()
    const last = lastSaid.get(client)
    if (last !== undefined && now - last < NOTICE_QUIET_MS) return
    if (lastSaid.size >= NOTICE_ADDRESSES) lastSaid.clear()
    lastSaid.set(client, now)
    if (now - windowStart >= NOTICE_QUIET_MS) {
      windowStart = now
      inWindow = 0
    }
    inWindow++
    if (inWindow <= NOTICE_PER_MINUTE) say(`${client}  ${text}; more from this address within a minute are not shown`)
    else if (inWindow === NOTICE_PER_MINUTE + 1) say(`${what} from more than ${NOTICE_PER_MINUTE} addresses within a minute: no more such lines until it has passed`)
  }
}
