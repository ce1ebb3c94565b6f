import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { figureFormat, figureSvg, writeFigure } from '../../src/output/plot.js'
import type { Figure } from '../../src/output/plot.js'

const figure: Figure = {
  title: 'Two panels',
  charts: [
    {
      title: 'Growth',
      x: { title: 'cycle' },
      y: { title: 'fraction', unit: 'of sites', domain: [0, 1] },
      series: [
        { name: 'infective', x: [0, 1, 2, 3], y: [0.001, 0.1, 0.6, 0.2] },
        { name: 'theory', x: [0, 1, 2, 3], y: [0.001, 0.2, 0.5, 0.3], dashed: true },
      ],
    },
    {
      x: { title: 'k' },
      y: { title: 'residue', scale: 'log' },
      series: [{ name: 'residue', x: [1, 2, 3], y: [0.18, 0.04, 0] }],
    },
  ],
}

test('an SVG figure carries its titles, axis units and legend entries', async () => {
  const svg = await figureSvg(figure)
  assert.match(svg, /^<svg/)
  for (const text of ['Two panels', 'Growth', 'fraction (of sites)', 'infective', 'theory', 'residue']) {
    assert.ok(svg.includes(text), `missing ${text}`)
  }
})

test('writeFigure picks the format from the extension and rejects others', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'plot-'))
  try {
    await writeFigure(join(dir, 'a.png'), figure)
    const png = readFileSync(join(dir, 'a.png'))
    assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47])
    assert.ok(png.readUInt32BE(16) > 600, 'png wide enough for two panels')
    await writeFigure(join(dir, 'a.svg'), figure)
    assert.match(readFileSync(join(dir, 'a.svg'), 'utf8'), /<svg/)
    await assert.rejects(writeFigure(join(dir, 'a.jpg'), figure), /\.svg or \.png/)
    assert.equal(figureFormat('X.SVG'), 'svg')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
