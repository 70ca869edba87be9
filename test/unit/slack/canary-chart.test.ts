import { Readable } from 'node:stream';
import * as PImage from 'pureimage';
import type { ChartSeries } from '../../../flows/messages';
import { CHART_COLOURS, renderCanaryChart } from '../../../src/slack/canary-chart';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const at = (minute: number) => new Date(Date.UTC(2026, 10, 23, 10, minute)).toISOString();
const points = (values: number[]) => values.map((value, i) => ({ at: at(i), value }));

const series = (name: string, canary: number[], baseline: number[] = []): ChartSeries => ({ name, canary: points(canary), baseline: points(baseline) });
const render = (...s: ChartSeries[]) => renderCanaryChart({ title: 'api 1.4.2 canary in prod', series: s });

/** Width and height from the IHDR chunk, which every PNG has first. */
const size = (png: Buffer) => ({ width: png.readUInt32BE(16), height: png.readUInt32BE(20) });

/** How many pixels of the decoded PNG are exactly this (opaque) colour. */
async function pixelsOf(png: Buffer, colour: string): Promise<number> {
  const { data } = await PImage.decodePNGFromStream(Readable.from(png));
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(colour.slice(i, i + 2), 16));
  let count = 0;
  // Straight over the RGBA bytes: getPixelRGBA per pixel is slow inside Jest's sandbox.
  for (let i = 0; i < data.length; i += 4) if (data[i] === r && data[i + 1] === g && data[i + 2] === b && data[i + 3] === 255) count++;
  return count;
}

// The legend's swatch of a colour is 14 x 4 pixels; a line across a panel is hundreds.
const SWATCH = 56;
const A_LINE = 300;

// pureimage is pure JavaScript and much slower inside Jest's sandbox than in Node itself (about a
// second a panel here, a few dozen milliseconds in production), so each test renders few panels.
describe('renderCanaryChart', () => {
  it('answers a PNG as wide as ever and taller by a panel for each series', async () => {
    const one = await render(series('error rate', [1, 2, 3]));
    const three = await render(series('a', [1, 2]), series('b', [1, 2], [2, 1]), series('c', [3, 2]));
    expect(one.subarray(0, 8)).toEqual(PNG_SIGNATURE);
    expect(three.subarray(0, 8)).toEqual(PNG_SIGNATURE);
    expect(size(one).width).toBe(800);
    expect(size(three).width).toBe(800);
    expect(size(three).height).toBeGreaterThan(size(one).height + 400);
  });

  it('draws the canary and the baseline as lines of their own colours', async () => {
    const png = await render(series('error rate', [0.01, 0.03, 0.02, 0.05], [0.02, 0.02, 0.025, 0.021]));
    expect(await pixelsOf(png, CHART_COLOURS.canary)).toBeGreaterThan(A_LINE);
    expect(await pixelsOf(png, CHART_COLOURS.baseline)).toBeGreaterThan(A_LINE);
  });

  it('skips NaN, infinite values and times that are not dates, and draws the rest', async () => {
    const png = await renderCanaryChart({
      title: 'api 1.4.2 canary in prod',
      series: [{ name: 'error rate', canary: [{ at: 'soon', value: 0.5 }, ...points([NaN, 0.01, Infinity, 0.02, -Infinity, 0.015])], baseline: points([NaN, NaN]) }],
    });
    expect(await pixelsOf(png, CHART_COLOURS.canary)).toBeGreaterThan(A_LINE);
    // A baseline of nothing but NaN is no baseline: no line, and no legend entry either.
    expect(await pixelsOf(png, CHART_COLOURS.baseline)).toBe(0);
  });

  it('draws a flat line when every value is the same', async () => {
    const png = await render(series('saturation', [5, 5, 5, 5], [5, 5]));
    expect(await pixelsOf(png, CHART_COLOURS.canary)).toBeGreaterThan(A_LINE);
  });

  it('shows a single point as a dot', async () => {
    const png = await render(series('p99 latency', [250]));
    expect(await pixelsOf(png, CHART_COLOURS.canary)).toBeGreaterThan(SWATCH);
  });

  it('draws panels with no finite value, and a chart with no series, without a line', async () => {
    const empty = await render(series('error rate', [NaN, Infinity], [NaN]), series('latency', []));
    expect(size(empty).height).toBeGreaterThan(400);
    expect(await pixelsOf(empty, CHART_COLOURS.canary)).toBe(0);
    expect(await pixelsOf(empty, CHART_COLOURS.baseline)).toBe(0);
    expect(size(await render()).width).toBe(800);
  });
});
