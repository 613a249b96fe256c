/** `::ffff:192.168.1.23` (an IPv4 client of a `::` bind) is `192.168.1.23`: the address the user knows. */
export function clientAddress(address: string | undefined): string {
  return (address ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '')
}
