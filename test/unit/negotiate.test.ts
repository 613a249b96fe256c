import { describe, expect, it } from 'vitest'
import { prefersHtml } from '../../src/app/negotiate.js'

describe('prefersHtml', () => {
  it.each([
    { what: 'no Accept', accept: undefined, html: false },
    { what: '*/*', accept: '*/*', html: false },
    { what: 'browser navigation', accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', html: true },
    { what: 'json only', accept: 'application/json', html: false },
    { what: 'html only', accept: 'text/html', html: true },
    { what: 'tie', accept: 'text/html, application/json', html: false },
    { what: 'json ranked lower', accept: 'text/html, application/json;q=0.5', html: true },
    { what: 'html ranked lower', accept: 'text/html;q=0.4, application/json', html: false },
    { what: 'text/* above */*', accept: 'text/*, */*;q=0.1', html: true },
    { what: 'html refused', accept: 'text/html;q=0, */*', html: false },
  ])('$what', ({ accept, html }) => {
    expect(prefersHtml(accept)).toBe(html)
  })
})
