// The URLs people can reach the server at: one per LAN interface for a wildcard bind (SPEC §6).
import os from 'node:os'

const WILDCARDS = new Set(['0.0.0.0', '::', '0:0:0:0:0:0:0:0'])

/** `host:port`, an IPv6 address in brackets (`[::1]:4000`), as URLs and messages write it. */
export function hostPort(host: string, port: number | string): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`
}

/**
 * `bound` is the address listened on: `--host 0` is the wildcard, `127.1` is 127.0.0.1. A host
 * name is kept as typed (`localhost`, `laptop.lan`): it is what a TLS certificate names.
 */
export function listenUrls(typed: string, bound: string, port: number, secure: boolean): string[] {
  const scheme = secure ? 'https' : 'http'
  const url = (addr: string) => `${scheme}://${hostPort(addr, port)}/`
  // The IPv4 wildcard written as IPv6: bound as such, so it takes IPv4 only.
  const host = bound === '::ffff:0.0.0.0' ? '0.0.0.0' : bound
  if (!WILDCARDS.has(host)) return [url(isHostName(typed) ? typed : bound)]
  const v4: string[] = []
  const v6: string[] = []
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal) continue
      // A bind on 0.0.0.0 does not accept IPv6; link-local IPv6 needs a zone a browser can't take.
      if (a.family === 'IPv4') v4.push(url(a.address))
      else if (host !== '0.0.0.0' && !a.address.startsWith('fe80')) v6.push(url(a.address))
    }
  }
  const all = [...v4, ...v6]
  return all.length > 0 ? all : [url(host === '0.0.0.0' ? '127.0.0.1' : '::1')]
}

/** The numbers inet_aton reads (`127.1`, `0x7f.1`, `017700000001`): an address, however it looks. */
const NUMERIC = /^(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}$/i

function isHostName(typed: string): boolean {
  return /[a-z]/i.test(typed) && !typed.includes(':') && !NUMERIC.test(typed)
}
