// PUT /<path> and non-multipart POST: the body is the file, named by the URL.
import { generatedName, percentDecodePath, sanitizeName, sanitizePath } from '../files/sanitize.js'
import type { Request, Response } from '../http/connection.js'
import { fileTooLarge } from '../files/sink.js'
import { sendStored } from './answers.js'
import type { AppContext } from './context.js'
import { linesFirst, receiveFile, reportRefused } from './receive.js'

export async function receiveRaw(ctx: AppContext, req: Request, res: Response): Promise<void> {
  const { config } = ctx
  // `%2F` and `%5C` decode to separators on purpose: they are then sanitised like any other.
  const decoded = percentDecodePath(req.path)
  const isFolder = /[\\/]$/.test(decoded)
  const named = isFolder ? { segments: sanitizePath(decoded + generatedName()), generated: true } : sanitizeName(decoded)
  let segments = named.segments
  if (config.flat) segments = segments.slice(-1)
  const announced = req.framing.kind === 'length' ? req.framing.length : req.framing.kind === 'none' ? 0 : null
  // Refused before a body byte is read, so an `Expect: 100-continue` client never sends it.
  if (announced !== null && announced > config.maxFileSize) {
    const err = fileTooLarge(config.maxFileSize)
    // Refused before receiveFile: still a failed upload for the terminal's ✖ line and --json (SPEC §6).
    reportRefused(ctx, req.remoteAddress, segments, err)
    throw err
  }
  const originalName = isFolder ? '' : (decoded.split(/[\\/]/).pop() ?? '')
  const file = await receiveFile(ctx, req.body, {
    from: req,
    client: req.remoteAddress,
    segments,
    originalName,
    generated: named.generated,
    // An empty Content-Type names no type, like a missing one.
    mimeType: req.header('content-type') || 'application/octet-stream',
    total: announced,
  })
  if (file) ctx.onStored()
  // Its line is on stdout before the 201: a script reading stdout once curl returns finds it.
  await linesFirst(ctx, req)
  sendStored(req, res, file ? [file] : [], !config.once)
}
