import { PassThrough } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import * as PImage from 'pureimage';
import type { ChartSeries } from '../../flows/messages';

/** Line colours, exported so tests can look for them in the pixels. */
export const CHART_COLOURS = { canary: '#e8590c', baseline: '#1c7ed6' } as const;

const WIDTH = 800;
const TITLE_HEIGHT = 36;
const PANEL_HEIGHT = 220;
const PLOT = { left: 80, right: WIDTH - 20, top: 34, bottom: 180 };
/** Keeps the extremes of a line off the frame, where they would be hard to see. */
const INSET = 8;
const FONT_FAMILY = 'DejaVu Sans';

type Ctx = ReturnType<PImage.Bitmap['getContext']>;
interface Point {
  t: number;
  v: number;
}

let fontLoaded = false;
/** pureimage keeps fonts in a process-wide registry, and parsing the TTF takes a while: do it once. */
function loadFont(): void {
  if (fontLoaded) return;
  PImage.registerFont(require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf'), FONT_FAMILY).loadSync();
  fontLoaded = true;
}

/** NaN and ±Infinity come from metrics with nothing to divide by; they cannot be placed on an axis. */
const finitePoints = (points: { at: string; value: number }[]): Point[] =>
  points.map((p) => ({ t: Date.parse(p.at), v: p.value })).filter((p) => Number.isFinite(p.t) && Number.isFinite(p.v));

/** Maps a domain onto pixels; a domain of one value (one point, a flat line) maps to the middle. */
const scale = (min: number, max: number, from: number, to: number) => (x: number) =>
  max === min ? (from + to) / 2 : from + ((x - min) / (max - min)) * (to - from);

/** A loop, not Math.min(...xs): a long series would pass more arguments than the stack holds. */
const extent = (xs: number[]): [number, number] => xs.reduce<[number, number]>(([lo, hi], x) => [Math.min(lo, x), Math.max(hi, x)], [Infinity, -Infinity]);

const hhmm = (t: number) => `${new Date(t).toISOString().slice(11, 16)} UTC`;
const formatValue = (v: number) => String(Number(v.toPrecision(4)));

function text(ctx: Ctx, s: string, x: number, y: number, size: number, align: 'left' | 'right' | 'center' = 'left', colour = '#212529'): void {
  ctx.font = `${size}px ${FONT_FAMILY}`;
  ctx.fillStyle = colour;
  ctx.textAlign = align;
  ctx.fillText(s, x, y);
}

function line(ctx: Ctx, points: Point[], x: (t: number) => number, y: (v: number) => number, colour: string): void {
  ctx.strokeStyle = colour;
  ctx.fillStyle = colour;
  // Points on the same pixel (several measurements in one instant) make zero-length segments, which the canvas refuses.
  const pixels: [number, number][] = [];
  for (const p of points) {
    const at: [number, number] = [Math.round(x(p.t)), Math.round(y(p.v))];
    const last = pixels.at(-1);
    if (!last || last[0] !== at[0] || last[1] !== at[1]) pixels.push(at);
  }
  if (pixels.length === 1) {
    // A line needs two points; one is shown as a dot so the panel is not blank.
    ctx.fillRect(pixels[0]![0] - 3, pixels[0]![1] - 3, 6, 6);
    return;
  }
  ctx.lineWidth = 2;
  ctx.beginPath();
  pixels.forEach(([px, py], i) => (i === 0 ? ctx.moveTo(px, py) : ctx.lineTo(px, py)));
  ctx.stroke();
}

function legend(ctx: Ctx, top: number, entries: [string, string][]): void {
  let x = PLOT.right;
  for (const [label, colour] of [...entries].reverse()) {
    text(ctx, label, x, top + 20, 12, 'right');
    x -= ctx.measureText(label).width + 20;
    ctx.fillStyle = colour;
    ctx.fillRect(x, top + 12, 14, 4);
    x -= 16;
  }
}

function panel(ctx: Ctx, series: ChartSeries, top: number): void {
  const canary = finitePoints(series.canary);
  const baseline = finitePoints(series.baseline);
  const all = [...canary, ...baseline];
  const [left, right, plotTop, plotBottom] = [PLOT.left, PLOT.right, top + PLOT.top, top + PLOT.bottom];

  text(ctx, series.name, left, top + 22, 15);
  ctx.strokeStyle = '#ced4da';
  ctx.lineWidth = 1;
  ctx.strokeRect(left, plotTop, right - left, plotBottom - plotTop);
  if (all.length === 0) {
    text(ctx, 'no data', (left + right) / 2, (plotTop + plotBottom) / 2 + 6, 16, 'center', '#868e96');
    return;
  }
  legend(ctx, top, baseline.length > 0 ? [['canary', CHART_COLOURS.canary], ['baseline', CHART_COLOURS.baseline]] : [['canary', CHART_COLOURS.canary]]);

  const [tMin, tMax] = extent(all.map((p) => p.t));
  const [vMin, vMax] = extent(all.map((p) => p.v));
  const x = scale(tMin, tMax, left + INSET, right - INSET);
  const y = scale(vMin, vMax, plotBottom - INSET, plotTop + INSET);

  if (vMin === vMax) {
    text(ctx, formatValue(vMin), left - 6, y(vMin) + 4, 11, 'right');
  } else {
    text(ctx, formatValue(vMax), left - 6, y(vMax) + 4, 11, 'right');
    text(ctx, formatValue(vMin), left - 6, y(vMin) + 4, 11, 'right');
  }
  if (tMin === tMax) {
    text(ctx, hhmm(tMin), x(tMin), plotBottom + 18, 11, 'center');
  } else {
    text(ctx, hhmm(tMin), left, plotBottom + 18, 11, 'left');
    text(ctx, hhmm(tMax), right, plotBottom + 18, 11, 'right');
  }

  // Baseline first, so the canary (the thing being judged) is drawn on top where they overlap.
  if (baseline.length > 0) line(ctx, baseline, x, y, CHART_COLOURS.baseline);
  if (canary.length > 0) line(ctx, canary, x, y, CHART_COLOURS.canary);
}

/**
 * Draws canary against baseline, one panel per metric stacked under a title, as PNG bytes for a
 * Slack upload. Pure JavaScript (pureimage), so it runs wherever Shipmate runs, with no native canvas.
 */
export async function renderCanaryChart(chart: { title: string; series: ChartSeries[] }): Promise<Buffer> {
  loadFont();
  const panels = Math.max(1, chart.series.length);
  const image = PImage.make(WIDTH, TITLE_HEIGHT + panels * PANEL_HEIGHT);
  const ctx = image.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, image.width, image.height);
  text(ctx, chart.title, 16, 25, 17);
  if (chart.series.length === 0) {
    text(ctx, 'no data', WIDTH / 2, TITLE_HEIGHT + PANEL_HEIGHT / 2, 16, 'center', '#868e96');
  }
  chart.series.forEach((s, i) => panel(ctx, s, TITLE_HEIGHT + i * PANEL_HEIGHT));

  // The encoder resolves when the stream finishes; reading to its end makes sure no chunk is left behind.
  const out = new PassThrough();
  const [bytes] = await Promise.all([buffer(out), PImage.encodePNGToStream(image, out)]);
  return bytes;
}
