import { describe, expect, it } from 'vitest'
import { toHttpError } from '../../src/errors.js'

const errno = (code: string) => Object.assign(new Error(`${code}: from a system call`), { code })

describe('toHttpError: what an error of the file system tells the uploader', () => {
  it.each([
    ['ENOSPC', 507, /disk is full/],
    ['EDQUOT', 507, /disk is full/],
    ['EMFILE', 503, /too many files open/],
    ['ENAMETOOLONG', 400, /too long/],
    ['ENOENT', 500, /folder the receiver was storing into is gone/],
    ['ENOTDIR', 500, /folder the receiver was storing into is gone/],
    ['EACCES', 500, /may not write there/],
    ['EFILETHREAD', 500, /^Internal error\.$/],
    ['EROFS', 500, /read-only/],
    ['EIO', 500, /I\/O error/],
    ['EWHATEVER', 500, /^Internal error\.$/],
  ])('%s: %i, %s', (code, status, message) => {
    const e = toHttpError(errno(code))
    expect(e.status).toBe(status)
    expect(e.message).toMatch(message)
    expect((e.cause as { code: string }).code).toBe(code)
  })

  it('a non-errno throw is an internal error, not a crash', () => {
    expect(toHttpError(undefined).code).toBe('INTERNAL')
    expect(toHttpError('a string').code).toBe('INTERNAL')
  })
})
